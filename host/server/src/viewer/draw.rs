//! Draws a [`Graph`] as SVG, laid out top to bottom in layers.
//!
//! Hand-written: the layout needs nested groups (Parallel branches, Map processors) and
//! a stable, testable answer, and the layered-layout crates either draw no clusters or
//! bring a renderer of their own. What this does is the classic recipe, kept small:
//! back edges found by a depth-first walk from `StartAt`, each state's layer its longest
//! path from the start over the other edges, states ordered in their layer by where
//! their predecessors are, groups sized from their content first. States are `<g>`
//! elements with `data-state`, focusable, so the page colours and selects them without
//! drawing anything itself.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use super::graph::{EdgeKind, Graph, Node};

/// A state's box.
const NODE_WIDTH: f64 = 176.0;
const NODE_HEIGHT: f64 = 44.0;
/// Between boxes side by side, and between layers.
const GAP_X: f64 = 28.0;
const GAP_Y: f64 = 44.0;
/// Inside a group's box: around its content, and the title above it.
const PAD: f64 = 14.0;
const TITLE: f64 = 26.0;
/// Characters of a name that fit a box; longer names end in `…` (the full name is the
/// box's title).
const NAME_CHARS: usize = 21;

/// A scope laid out: its size and where each state's box is.
#[derive(Debug, Clone)]
struct Layout {
    width: f64,
    height: f64,
    boxes: Vec<Placed>,
}

/// One state's box in its scope.
#[derive(Debug, Clone)]
struct Placed {
    index: usize,
    x: f64,
    y: f64,
    width: f64,
    height: f64,
    /// Laid-out groups, with their offsets inside this box.
    groups: Vec<(f64, f64, Layout)>,
}

/// The SVG of `graph`.
pub fn svg(graph: &Graph) -> String {
    let layout = lay_out(graph);
    let mut out = String::new();
    // A margin for the edges routed round the boxes and the loops out on the right.
    let margin = GAP_X * 1.5;
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="graph" viewBox="{m} {m} {w} {h}" width="{w}" height="{h}" role="group" aria-label="State machine">"#,
        m = -margin,
        w = (layout.width + 2.0 * margin).ceil(),
        h = (layout.height + 2.0 * margin).ceil(),
    );
    out.push_str(
        r#"<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>"#,
    );
    draw(graph, &layout, &mut out);
    out.push_str("</svg>");
    out
}

/// Lays out one scope, its groups first (their size is their box's).
fn lay_out(graph: &Graph) -> Layout {
    let index: HashMap<&str, usize> = graph
        .states
        .iter()
        .enumerate()
        .map(|(i, node)| (node.name.as_str(), i))
        .collect();
    let n = graph.states.len();
    let mut successors: Vec<Vec<usize>> = vec![Vec::new(); n];
    for edge in &graph.edges {
        if let (Some(&from), Some(&to)) =
            (index.get(edge.from.as_str()), index.get(edge.to.as_str()))
            && !successors[from].contains(&to)
        {
            successors[from].push(to);
        }
    }
    let start = index.get(graph.start.as_str()).copied().unwrap_or(0);
    let (order, back) = depth_first(start, &successors);

    // Layer: the longest path from the start over forward edges, in discovery order
    // (a topological order of the forward edges).
    let mut layer = vec![0usize; n];
    for &from in &order {
        for &to in &successors[from] {
            if !back.contains(&(from, to)) {
                layer[to] = layer[to].max(layer[from] + 1);
            }
        }
    }
    let layers = layer.iter().copied().max().map_or(0, |max| max + 1);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); layers.max(1)];
    for &state in &order {
        rows[layer[state]].push(state);
    }
    // States never reached from the start (a definition that validated has none) go last.
    let unreached: Vec<usize> = (0..n).filter(|i| !order.contains(i)).collect();
    if !unreached.is_empty() {
        rows.push(unreached);
    }

    let mut boxes: Vec<Option<Placed>> = graph
        .states
        .iter()
        .enumerate()
        .map(|(i, node)| Some(sized(i, node)))
        .collect();

    // Order each row by the mean position of its predecessors in the rows above.
    let mut position = vec![0.0f64; n];
    for row in &mut rows {
        let key = |state: &usize| {
            let above: Vec<f64> = (0..n)
                .filter(|&from| successors[from].contains(state) && !back.contains(&(from, *state)))
                .map(|from| position[from])
                .collect();
            if above.is_empty() {
                f64::MAX
            } else {
                above.iter().sum::<f64>() / above.len() as f64
            }
        };
        let mut keyed: Vec<(f64, usize, usize)> = row
            .iter()
            .enumerate()
            .map(|(i, s)| (key(s), i, *s))
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        *row = keyed.into_iter().map(|(_, _, s)| s).collect();
        for (i, &state) in row.iter().enumerate() {
            position[state] = i as f64 - row.len() as f64 / 2.0;
        }
    }

    let row_width = |row: &Vec<usize>, boxes: &Vec<Option<Placed>>| {
        row.iter()
            .map(|&s| boxes[s].as_ref().map_or(0.0, |b| b.width))
            .sum::<f64>()
            + GAP_X * row.len().saturating_sub(1) as f64
    };
    let width = rows
        .iter()
        .map(|row| row_width(row, &boxes))
        .fold(NODE_WIDTH, f64::max);
    let mut y = 0.0;
    let mut placed = Vec::with_capacity(n);
    for row in &rows {
        let mut x = (width - row_width(row, &boxes)) / 2.0;
        let height = row
            .iter()
            .map(|&s| boxes[s].as_ref().map_or(0.0, |b| b.height))
            .fold(0.0, f64::max);
        for &state in row {
            if let Some(mut b) = boxes[state].take() {
                b.x = x;
                b.y = y;
                x += b.width + GAP_X;
                placed.push(b);
            }
        }
        y += height + GAP_Y;
    }
    placed.sort_by_key(|b| b.index);
    Layout {
        width,
        height: (y - GAP_Y).max(NODE_HEIGHT),
        boxes: placed,
    }
}

/// The visiting order from `start` and the edges that go back to a state being visited.
fn depth_first(start: usize, successors: &[Vec<usize>]) -> (Vec<usize>, HashSet<(usize, usize)>) {
    let n = successors.len();
    let mut order = Vec::with_capacity(n);
    let mut back = HashSet::new();
    if n == 0 {
        return (order, back);
    }
    // 0: unseen, 1: on the current path, 2: done.
    let mut state = vec![0u8; n];
    let mut post = Vec::with_capacity(n);
    let mut stack = vec![(start, 0usize)];
    state[start] = 1;
    while let Some((node, next)) = stack.pop() {
        if let Some(&to) = successors[node].get(next) {
            stack.push((node, next + 1));
            match state[to] {
                0 => {
                    state[to] = 1;
                    stack.push((to, 0));
                }
                1 => {
                    back.insert((node, to));
                }
                _ => {}
            }
        } else {
            state[node] = 2;
            post.push(node);
        }
    }
    // Reverse post-order is a topological order of the forward edges.
    order.extend(post.into_iter().rev());
    (order, back)
}

/// A state's box before it is placed: a plain box, or a group around its graphs.
fn sized(index: usize, node: &Node) -> Placed {
    if node.groups.is_empty() {
        return Placed {
            index,
            x: 0.0,
            y: 0.0,
            width: NODE_WIDTH,
            height: NODE_HEIGHT,
            groups: Vec::new(),
        };
    }
    let mut groups = Vec::new();
    let mut x = PAD;
    let mut height: f64 = 0.0;
    for graph in &node.groups {
        let layout = lay_out(graph);
        height = height.max(layout.height);
        let width = layout.width;
        groups.push((x, TITLE + PAD, layout));
        x += width + GAP_X;
    }
    let content = x - GAP_X + PAD;
    let width = content.max(NODE_WIDTH);
    // Centre the branches when the title is wider than they are.
    let shift = (width - content) / 2.0;
    for group in &mut groups {
        group.0 += shift;
    }
    Placed {
        index,
        x: 0.0,
        y: 0.0,
        width,
        height: TITLE + PAD + height + PAD,
        groups,
    }
}

/// Writes one scope: its edges under its boxes.
fn draw(graph: &Graph, layout: &Layout, out: &mut String) {
    let at: HashMap<&str, &Placed> = layout
        .boxes
        .iter()
        .map(|b| (graph.states[b.index].name.as_str(), b))
        .collect();
    out.push_str(r#"<g class="edges">"#);
    for edge in &graph.edges {
        let (Some(from), Some(to)) = (at.get(edge.from.as_str()), at.get(edge.to.as_str())) else {
            continue;
        };
        let path = if to.y > from.y {
            // Down: bottom centre to top centre, round the boxes in between if any.
            let (x1, y1) = (from.x + from.width / 2.0, from.y + from.height);
            let (x2, y2) = (to.x + to.width / 2.0, to.y);
            let (low, high) = (x1.min(x2) - 4.0, x1.max(x2) + 4.0);
            let between: Vec<&Placed> = layout
                .boxes
                .iter()
                .filter(|b| b.y + b.height > y1 && b.y < y2 && b.x < high && b.x + b.width > low)
                .collect();
            if between.is_empty() {
                let bend = (y2 - y1) / 2.0;
                format!(
                    "M{x1:.1},{y1:.1} C{x1:.1},{:.1} {x2:.1},{:.1} {x2:.1},{y2:.1}",
                    y1 + bend,
                    y2 - bend
                )
            } else {
                let left = between.iter().map(|b| b.x).fold(f64::MAX, f64::min) - GAP_X / 2.0;
                let right = between
                    .iter()
                    .map(|b| b.x + b.width)
                    .fold(f64::MIN, f64::max)
                    + GAP_X / 2.0;
                let middle = (x1 + x2) / 2.0;
                let side = if middle - left <= right - middle {
                    left
                } else {
                    right
                };
                let g = GAP_Y / 4.0;
                format!(
                    "M{x1:.1},{y1:.1} C{x1:.1},{:.1} {side:.1},{:.1} {side:.1},{:.1} L{side:.1},{:.1} C{side:.1},{:.1} {x2:.1},{:.1} {x2:.1},{y2:.1}",
                    y1 + g,
                    y1 + g,
                    y1 + 2.0 * g,
                    y2 - 2.0 * g,
                    y2 - g,
                    y2 - g,
                )
            }
        } else {
            // Back up (a loop) or sideways: out of the right side and round.
            let (x1, y1) = (from.x + from.width, from.y + from.height / 2.0);
            let (x2, y2) = (to.x + to.width, to.y + to.height / 2.0);
            let out_x = x1.max(x2) + GAP_X;
            format!("M{x1:.1},{y1:.1} C{out_x:.1},{y1:.1} {out_x:.1},{y2:.1} {x2:.1},{y2:.1}")
        };
        let kind = match edge.kind {
            EdgeKind::Next => "next",
            EdgeKind::Choice => "choice",
            EdgeKind::Default => "default",
            EdgeKind::Catch => "catch",
        };
        let _ = write!(
            out,
            r#"<path class="edge edge-{kind}" data-from="{}" data-to="{}" d="{path}" marker-end="url(#arrow)"/>"#,
            escape(&edge.from),
            escape(&edge.to),
        );
    }
    out.push_str("</g>");
    for placed in &layout.boxes {
        let node = &graph.states[placed.index];
        let name = escape(&node.name);
        let kind = escape(&node.kind);
        let shown: String = if node.name.chars().count() > NAME_CHARS {
            let cut: String = node.name.chars().take(NAME_CHARS - 1).collect();
            escape(&format!("{}…", cut.trim_end()))
        } else {
            name.clone()
        };
        let group = if placed.groups.is_empty() {
            ""
        } else {
            " group"
        };
        let _ = write!(
            out,
            r#"<g class="state{group} kind-{lower}" data-state="{name}" transform="translate({x:.1},{y:.1})" tabindex="0" role="button" aria-label="{name} ({kind})"><title>{name} ({kind})</title><rect class="box" width="{w:.1}" height="{h:.1}" rx="6"/>"#,
            lower = kind.to_ascii_lowercase(),
            x = placed.x,
            y = placed.y,
            w = placed.width,
            h = placed.height,
        );
        if placed.groups.is_empty() {
            let _ = write!(
                out,
                r#"<text class="name" x="{cx:.1}" y="19">{shown}</text><text class="kind" x="{cx:.1}" y="35">{kind}</text>"#,
                cx = placed.width / 2.0,
            );
        } else {
            let _ = write!(
                out,
                r#"<text class="name" x="{cx:.1}" y="18">{shown} <tspan class="kind">{kind}</tspan></text>"#,
                cx = placed.width / 2.0,
            );
            for ((x, y, layout), graph) in placed.groups.iter().zip(&node.groups) {
                let _ = write!(
                    out,
                    r#"<g class="scope" transform="translate({x:.1},{y:.1})"><rect class="scope-box" x="-6" y="-6" width="{w:.1}" height="{h:.1}" rx="4"/>"#,
                    w = layout.width + 12.0,
                    h = layout.height + 12.0,
                );
                draw(graph, layout, out);
                out.push_str("</g>");
            }
        }
        out.push_str("</g>");
    }
}

/// Text and attribute values in SVG (XML).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn graph_of(definition: &Value) -> Graph {
        Graph::from_definition(definition)
    }

    /// No two boxes of a scope overlap; the same within every group.
    fn assert_no_overlap(layout: &Layout) {
        for (i, a) in layout.boxes.iter().enumerate() {
            for b in &layout.boxes[i + 1..] {
                let apart = a.x + a.width <= b.x
                    || b.x + b.width <= a.x
                    || a.y + a.height <= b.y
                    || b.y + b.height <= a.y;
                assert!(apart, "boxes {} and {} overlap", a.index, b.index);
            }
            assert!(a.x >= 0.0 && a.x + a.width <= layout.width + 0.01);
            assert!(a.y >= 0.0 && a.y + a.height <= layout.height + 0.01);
            for (_, _, inner) in &a.groups {
                assert_no_overlap(inner);
            }
        }
    }

    fn y_of(graph: &Graph, layout: &Layout, name: &str) -> f64 {
        let i = graph.states.iter().position(|s| s.name == name).unwrap();
        layout.boxes.iter().find(|b| b.index == i).unwrap().y
    }

    #[test]
    fn the_report_workflow_flows_down_with_its_branches_side_by_side() {
        let text = include_str!("../../../../statemachine/report.asl.json");
        let graph = graph_of(&serde_json::from_str(text).unwrap());
        let layout = lay_out(&graph);
        assert_no_overlap(&layout);
        let order = ["Defaults", "ApplyDefaults", "Query", "Deliver", "Summarize"];
        for pair in order.windows(2) {
            assert!(
                y_of(&graph, &layout, pair[0]) < y_of(&graph, &layout, pair[1]),
                "{} is not above {}",
                pair[0],
                pair[1]
            );
        }
        let deliver = &layout.boxes[graph
            .states
            .iter()
            .position(|s| s.name == "Deliver")
            .unwrap()];
        let [(x1, y1, _), (x2, y2, _)] = deliver.groups.as_slice() else {
            panic!("Deliver has two branches");
        };
        assert_eq!(y1, y2, "branches side by side");
        assert!(x1 < x2);

        let svg = svg(&graph);
        for node in graph.all_states() {
            assert!(
                svg.contains(&format!("data-state=\"{}\"", node.name)),
                "{} is not drawn",
                node.name
            );
        }
        assert_eq!(svg.matches("class=\"edge edge-catch\"").count(), 2);
        assert_eq!(svg.matches("tabindex=\"0\"").count(), 17);
    }

    /// A machine of `n` states: a chain whose every fifth state is a Choice that may go
    /// back, and whose tasks catch into a shared handler.
    fn long_machine(n: usize) -> Value {
        let mut states = serde_json::Map::new();
        for i in 0..n {
            let next = if i + 1 < n {
                json!(format!("S{}", i + 1))
            } else {
                Value::Null
            };
            let state = if i + 1 == n {
                json!({"Type": "Succeed"})
            } else if i % 5 == 4 {
                json!({"Type": "Choice",
                    "Choices": [{"Variable": "$.again", "BooleanEquals": true, "Next": format!("S{}", i - 3)}],
                    "Default": next})
            } else {
                json!({"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "Next": next,
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handler"}]})
            };
            states.insert(format!("S{i}"), state);
        }
        states.insert("Handler".into(), json!({"Type": "Fail", "Error": "E"}));
        json!({"StartAt": "S0", "States": states})
    }

    #[test]
    fn a_forty_state_machine_with_loops_lays_out_without_overlaps() {
        let graph = graph_of(&long_machine(40));
        let layout = lay_out(&graph);
        assert_no_overlap(&layout);
        // The chain reads top to bottom, loops and all: S0 .. S39 each below the last.
        for i in 1..40 {
            assert!(
                y_of(&graph, &layout, &format!("S{i}"))
                    > y_of(&graph, &layout, &format!("S{}", i - 1)),
                "S{i}"
            );
        }
        // Narrow enough to read: the handler beside the chain, not a row of 40.
        assert!(layout.width < 3.0 * NODE_WIDTH, "{}", layout.width);
        let svg = svg(&graph);
        assert_eq!(svg.matches("class=\"state").count(), 41);
        assert_eq!(svg.matches("edge-choice").count(), 7, "the loops are drawn");
    }

    #[test]
    fn names_are_escaped_and_long_ones_shortened() {
        let graph = graph_of(&json!({
            "StartAt": "<a & \"b\">",
            "States": {
                "<a & \"b\">": {"Type": "Pass", "Next": "A rather long state name for a box"},
                "A rather long state name for a box": {"Type": "Succeed"}
            }
        }));
        let svg = svg(&graph);
        assert!(
            svg.contains("data-state=\"&lt;a &amp; &quot;b&quot;&gt;\""),
            "{svg}"
        );
        assert!(!svg.contains("<a &"), "{svg}");
        assert!(svg.contains(">A rather long state…<"), "{svg}");
        assert!(svg.contains("<title>A rather long state name for a box (Succeed)</title>"));
    }
}
