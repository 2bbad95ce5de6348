# The local stack on loopback, without Docker: a throwaway PostgreSQL server and a moto server
# (the AWS emulator). Sourced by scripts/test and scripts/demo; each function says what it does.
# Everything started is recorded in STACK_PIDS and stopped by stack_stop, on every exit path.

STACK_DIR=""
STACK_PIDS=()

say() { printf '%s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# Run a command as root (directly, or through sudo when there is one).
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "'$*' needs root; install PostgreSQL's server package yourself and re-run"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The folder holding initdb and postgres, installing the server from the OS packages if needed.
pg_bindir() {
  local dir
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r) "$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/x)")"; do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ]; then echo "$dir"; return; fi
  done
  say "PostgreSQL server not found: installing it from the OS packages (apt-get install postgresql)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 \
    && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-client >&2 \
    || die "could not install PostgreSQL; install the server package by hand"
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$dir/initdb" ]; then echo "$dir"; return; fi
  done
  die "PostgreSQL was installed but initdb is still not found"
}

# Postgres refuses to run as root: when we are root, run it as an unprivileged user.
pg_user() {
  if [ "$(id -u)" != 0 ]; then id -un; return; fi
  if id postgres >/dev/null 2>&1; then echo postgres; return; fi
  id cruddur-pg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin cruddur-pg
  echo cruddur-pg
}

as_pg_user() {
  local user=$1; shift
  if [ "$(id -u)" = 0 ]; then runuser -u "$user" -- "$@"; else "$@"; fi
}

# stack_start_postgres PASSWORD [PORT]: sets PG_PORT, PG_ADMIN_URL (database postgres), and
# PG_CA / PG_OTHER_CA (the CA that signed the server's certificate, and an unrelated one).
stack_start_postgres() {
  local password=$1 port=${2:-$(free_port)} bindir user data
  bindir=$(pg_bindir)
  user=$(pg_user)
  [ -n "$STACK_DIR" ] || STACK_DIR=$(mktemp -d /tmp/cruddur-stack.XXXXXX)
  data="$STACK_DIR/pgdata"
  chmod 755 "$STACK_DIR"
  printf '%s\n' "$password" > "$STACK_DIR/pwfile"
  chown "$user" "$STACK_DIR/pwfile" 2>/dev/null || true
  mkdir -p "$data" && chown "$user" "$data" 2>/dev/null || true
  as_pg_user "$user" "$bindir/initdb" -D "$data" -U postgres --auth=scram-sha-256 \
    --pwfile="$STACK_DIR/pwfile" -E UTF8 --no-sync >"$STACK_DIR/initdb.log" 2>&1 \
    || { cat "$STACK_DIR/initdb.log" >&2; die "initdb failed"; }
  rm -f "$STACK_DIR/pwfile"
  # TLS as RDS offers it: a self-signed certificate; one role may log in over TLS only, so the
  # tests can tell that cruddur really encrypts.
  if ! command -v openssl >/dev/null; then
    say "openssl not found: installing it from the OS packages"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >&2 || die "could not install openssl"
  fi
  # A small CA of the stack's own signs the server's certificate (for sslmode=verify-full);
  # a second, unrelated CA is what a wrong sslrootcert looks like.
  {
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=cruddur-test-ca \
      -keyout "$STACK_DIR/ca.key" -out "$STACK_DIR/ca.crt" \
    && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=cruddur-other-ca \
      -keyout "$STACK_DIR/other-ca.key" -out "$STACK_DIR/other-ca.crt" \
    && openssl req -newkey rsa:2048 -nodes -subj /CN=localhost \
      -keyout "$data/server.key" -out "$STACK_DIR/server.csr" \
    && printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
      "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" > "$STACK_DIR/server.ext" \
    && openssl x509 -req -in "$STACK_DIR/server.csr" -CA "$STACK_DIR/ca.crt" -CAkey "$STACK_DIR/ca.key" \
      -CAcreateserial -days 2 -extfile "$STACK_DIR/server.ext" -out "$data/server.crt"
  } >/dev/null 2>&1 || die "openssl could not make the test certificates"
  chmod 644 "$STACK_DIR/ca.crt" "$STACK_DIR/other-ca.crt"
  PG_CA="$STACK_DIR/ca.crt"
  PG_OTHER_CA="$STACK_DIR/other-ca.crt"
  chown "$user" "$data/server.key" "$data/server.crt" 2>/dev/null || true
  chmod 600 "$data/server.key"
  { echo "hostnossl all cruddur_tls_only 0.0.0.0/0 reject"; cat "$data/pg_hba.conf"; } > "$data/pg_hba.new"
  mv "$data/pg_hba.new" "$data/pg_hba.conf" && chown "$user" "$data/pg_hba.conf" 2>/dev/null || true
  as_pg_user "$user" "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w -t 30 \
    -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$data -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c ssl=on -c ssl_cert_file=$data/server.crt -c ssl_key_file=$data/server.key" \
    start >/dev/null \
    || { cat "$data/server.log" >&2; die "PostgreSQL did not start on 127.0.0.1:$port"; }
  STACK_PIDS+=("$(head -1 "$data/postmaster.pid")")
  PG_PORT=$port
  PG_ADMIN_URL="postgresql://postgres:$password@127.0.0.1:$port/postgres"
  say "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (pid ${STACK_PIDS[-1]}, data in $data)"
}

# stack_start_moto [PORT]: sets MOTO_PORT and MOTO_URL.
stack_start_moto() {
  local port=${1:-$(free_port)} i
  if ! python3 -c 'import moto.server, flask, flask_cors' 2>/dev/null; then
    say "moto server not found: installing it from PyPI (pip install 'moto[server]')"
    python3 -m pip install --quiet --disable-pip-version-check 'moto[server]' >&2 \
      || die "could not install moto[server]"
  fi
  [ -n "$STACK_DIR" ] || STACK_DIR=$(mktemp -d /tmp/cruddur-stack.XXXXXX)
  python3 -m moto.server -H 127.0.0.1 -p "$port" >"$STACK_DIR/moto.log" 2>&1 &
  STACK_PIDS+=("$!")
  for i in $(seq 1 100); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
      MOTO_PORT=$port
      MOTO_URL="http://127.0.0.1:$port"
      say "moto server on $MOTO_URL (pid ${STACK_PIDS[-1]})"
      return
    fi
    kill -0 "${STACK_PIDS[-1]}" 2>/dev/null || break
    sleep 0.2
  done
  cat "$STACK_DIR/moto.log" >&2
  die "the moto server did not start on 127.0.0.1:$port"
}

# stack_start_dynoxide [PORT]: the DynamoDB emulator closest to AWS, in memory, on loopback;
# installed with cargo when missing (a few minutes, once). Sets DYNOXIDE_URL and DYNOXIDE_PID.
stack_start_dynoxide() {
  local port=${1:-$(free_port)} i
  if ! command -v dynoxide >/dev/null 2>&1; then
    say "dynoxide not found: installing it (cargo install dynoxide-rs)"
    cargo install --locked --quiet dynoxide-rs >&2 || die "could not install dynoxide-rs"
  fi
  [ -n "$STACK_DIR" ] || STACK_DIR=$(mktemp -d /tmp/cruddur-stack.XXXXXX)
  dynoxide --host 127.0.0.1 --port "$port" >"$STACK_DIR/dynoxide.log" 2>&1 &
  STACK_PIDS+=("$!")
  DYNOXIDE_PID=$!
  for i in $(seq 1 100); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
      DYNOXIDE_URL="http://127.0.0.1:$port"
      say "dynoxide $(dynoxide --version 2>/dev/null | awk '{print $2}') on $DYNOXIDE_URL (pid $DYNOXIDE_PID, in memory)"
      return
    fi
    kill -0 "$DYNOXIDE_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$STACK_DIR/dynoxide.log" >&2
  die "dynoxide did not start on 127.0.0.1:$port"
}

# stack_start_proxy NAME ARGS…: bench/proxy.py in front of an emulator; sets PROXY_URL and
# PROXY_PID (stop it with stop_pid to get its stats).
stack_start_proxy() {
  local name=$1; shift
  [ -n "$STACK_DIR" ] || STACK_DIR=$(mktemp -d /tmp/cruddur-stack.XXXXXX)
  python3 bench/proxy.py "$@" > "$STACK_DIR/$name.port" 2>"$STACK_DIR/$name.log" &
  PROXY_PID=$!
  STACK_PIDS+=("$PROXY_PID")
  local i
  for i in $(seq 1 100); do
    if [ -s "$STACK_DIR/$name.port" ]; then
      PROXY_URL="http://127.0.0.1:$(head -1 "$STACK_DIR/$name.port")"
      return
    fi
    sleep 0.05
  done
  cat "$STACK_DIR/$name.log" >&2
  die "the $name proxy did not start"
}

# Stop one process this script started (SIGTERM, then wait for it).
stop_pid() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

# Stop everything this script started, by PID, and remove its files.
stack_stop() {
  local pid i
  for pid in "${STACK_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${STACK_PIDS[@]}"; do
    for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  STACK_PIDS=()
  [ -n "$STACK_DIR" ] && rm -rf "$STACK_DIR"
  STACK_DIR=""
}
