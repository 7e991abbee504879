-- Sample café data: accents, ampersands, angle brackets and quotes on purpose, so every
-- layer that shows a name must escape it. Quantities of 10 or fewer are low on stock.
INSERT INTO suppliers (id, name, address, city, state, email, phone) VALUES
(1, 'Café Altura & Söhne', 'Kaffeegasse 12', 'Hamburg', 'HH', 'bestellung@altura.example', '+49 40 555 0101'),
(2, 'Joe''s "Best" Beans', '88 Roast Road', 'Seattle', 'WA', 'joe@bestbeans.example', '+1 206 555 0142'),
(3, '<Tostadores> del Señor', 'Calle Mayor 5', 'Medellín', 'ANT', 'ventas@tostadores.example', '+57 4 555 0177'),
(4, 'Kilimanjaro Kaffee Kooperative', 'P.O. Box 411', 'Moshi', 'KIL', 'coop@kilimanjaro.example', '+255 27 555 0199'),
(5, 'Brûlerie Étoile', '3 rue de la Torréfaction', 'Lyon', 'ARA', 'contact@etoile.example', '+33 4 55 50 12 34'),
(6, 'Highland Roast Co.', '17 Glen Street', 'Portland', 'OR', NULL, '+1 503 555 0123'),
(7, 'Øresund Coffee Traders', 'Havnegade 2', 'København', 'H', 'hej@oresund.example', '+45 55 50 01 01');

INSERT INTO beans (id, supplier_id, type, product_name, price, description, quantity) VALUES
(1, 1, 'Arabica', 'Hamburger Hafenmischung', '14.90', 'Dark roast for espresso, notes of cocoa & hazelnut.', 42),
(2, 1, 'Robusta', 'Kräftige Röstung', '11.50', 'Strong and bitter; crema for days.', 6),
(3, 1, 'Arabica', 'Entkoffeiniert Sanft', '13.20', 'Swiss-water decaf.', 18),
(4, 2, 'Arabica', 'Joe''s "Morning" Blend', '12.00', 'A crowd-pleaser: caramel, citrus, "bright" finish.', 75),
(5, 2, 'Liberica', 'Barako <Special>', '16.75', 'Rare Liberica from Batangas; smoky & floral.', 3),
(6, 2, 'Arabica', 'Cold Brew Coarse', '10.50', NULL, 30),
(7, 3, 'Arabica', 'Huila Supremo', '15.40', 'Red fruit, panela sweetness.', 24),
(8, 3, 'Arabica', 'Geisha Natural', '39.00', 'Jasmine & bergamot; tiny lot.', 2),
(9, 3, 'Arabica', 'Café de Olla', 'ask us', 'Spiced with cinnamon and piloncillo.', 12),
(10, 4, 'Arabica', 'Kibo Peaberry', '18.20', 'Bright, winey acidity.', 9),
(11, 4, 'Arabica', 'Moshi AA', '17.00', 'Blackcurrant and brown sugar.', 33),
(12, 5, 'Arabica', 'Mélange Étoile', '13.80', 'House blend, medium roast.', 55),
(13, 5, 'Robusta', 'Noir Intense', '9.90', 'For the moka pot.', 10),
(14, 6, 'Arabica', 'Highland Breakfast', '11.00', 'Smooth & mild.', 64),
(15, 6, 'Arabica', 'Cascade Decaf', '12.40', 'Mountain-water process.', 1),
(16, 6, 'Excelsa', 'Excelsa Experiment', '14.00', 'Tart, fruity, unusual.', 20),
(17, 7, 'Arabica', 'Nordic Light Roast', '16.10', 'Very light roast; tea-like.', 27),
(18, 7, 'Arabica', 'Smørrebrød Blend', '12.90', 'Pairs with open sandwiches & rye.', 0);
