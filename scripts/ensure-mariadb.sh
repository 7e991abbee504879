#!/usr/bin/env bash
# Makes sure a MariaDB server answers on 127.0.0.1:3306 (root, empty password), installing
# and starting it if needed. The MySQL tests create and seed their own database.
set -euo pipefail
ping() { mysqladmin --protocol=tcp -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1; }
if ping; then exit 0; fi
if ! command -v mariadbd >/dev/null && [ ! -x /usr/sbin/mariadbd ]; then
  echo "ensure-mariadb: installing mariadb-server" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq mariadb-server mariadb-client >&2
fi
echo "ensure-mariadb: starting mariadbd" >&2
mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
for _ in $(seq 1 60); do
  if ping; then exit 0; fi
  sleep 1
done
echo "ensure-mariadb: MariaDB did not come up on 127.0.0.1:3306" >&2
exit 1
