-- The café database (portable: runs on MySQL/MariaDB and SQLite).
-- MySQL: `cafe-report db seed` creates the database and runs this file and seed.sql in it.
CREATE TABLE suppliers (
    id INTEGER NOT NULL PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    address VARCHAR(200),
    city VARCHAR(100),
    state VARCHAR(100),
    email VARCHAR(200),
    phone VARCHAR(50)
);

CREATE TABLE beans (
    id INTEGER NOT NULL PRIMARY KEY,
    supplier_id INTEGER NOT NULL,
    type VARCHAR(100),
    product_name VARCHAR(200) NOT NULL,
    price VARCHAR(20),
    description VARCHAR(1000),
    quantity INTEGER NOT NULL DEFAULT 0,
    FOREIGN KEY (supplier_id) REFERENCES suppliers (id)
);
