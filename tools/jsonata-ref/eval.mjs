// Evaluates every case of a differential-test corpus with the JSONata reference
// implementation and prints the results as JSON, one per case, in order:
// {"value": ...} | {"undefined": true} | {"error": {"code": "...", "message": "..."}}.
// Usage: node eval.mjs corpus.json
import { readFileSync } from "node:fs";
import jsonata from "jsonata";

const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
const results = [];
for (const c of cases) {
  try {
    const expression = jsonata(c.expr);
    const value = await expression.evaluate(c.input, c.bindings ?? {});
    if (value === undefined) {
      results.push({ undefined: true });
    } else {
      // Through JSON, as a state's output would be: drops functions, keeps sequences as arrays.
      const json = JSON.stringify(value);
      results.push(json === undefined ? { undefined: true } : { value: JSON.parse(json) });
    }
  } catch (err) {
    results.push({ error: { code: err.code ?? "", message: err.message ?? String(err) } });
  }
}
process.stdout.write(JSON.stringify(results));
