-- Creates and seeds the COFFEE database on MySQL/MariaDB:
--   mysql -h 127.0.0.1 -u root < db/mysql-setup.sql   (run from the repository root)
-- `cafe-report db seed --database-url mysql://root@127.0.0.1:3306/COFFEE` does the same.
CREATE DATABASE IF NOT EXISTS COFFEE CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE COFFEE;
DROP TABLE IF EXISTS beans;
DROP TABLE IF EXISTS suppliers;
SOURCE db/schema.sql;
SOURCE db/seed.sql;
