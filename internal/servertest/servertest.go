// Package servertest starts the real servers that tests of the pool
// adapters run against — PostgreSQL and Redis, from Debian's packages —
// in a temporary directory, on loopback, once per test binary, and stops
// them when the tests end. Wrap the package's TestMain with Main:
//
//	func TestMain(m *testing.M) { goleak.VerifyTestMain(servertest.Main(m)) }
//
// A test whose server's binaries are missing is skipped, saying so
// loudly; when WATERTIGHT_REQUIRE_SERVERS is set (.ci/run sets it once
// it has installed them), it fails instead.
package servertest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Main wraps m so that the servers started for its tests are stopped
// after them.
func Main(m *testing.M) interface{ Run() int } { return main{m} }

type main struct{ m *testing.M }

func (w main) Run() int {
	code := w.m.Run()
	stopServers()
	return code
}

// servers are the servers this test binary started, each at most once.
var servers struct {
	mu        sync.Mutex
	pg        *postgres
	pgErr     error
	redisAddr string
	redisErr  error
	redisStop func()
	dbs       int
}

// stopServers stops what this test binary started.
func stopServers() {
	servers.mu.Lock()
	defer servers.mu.Unlock()
	if servers.pg != nil {
		servers.pg.stop()
	}
	if servers.redisStop != nil {
		servers.redisStop()
	}
}

// missing skips t, or fails it when the servers are required.
func missing(t testing.TB, what, pkg string, err error) {
	t.Helper()
	if os.Getenv("WATERTIGHT_REQUIRE_SERVERS") != "" {
		t.Fatalf("%s is required (WATERTIGHT_REQUIRE_SERVERS is set) and cannot be started: %v", what, err)
	}
	t.Skipf("SKIPPED: this test needs a real %s, which cannot be started here: %v (apt-get install -y %s)", what, err, pkg)
}

// errMissing marks a server whose binaries are not installed.
var errMissing = errors.New("not installed")

// Postgres returns the DSN of a database of its own for t, on a
// PostgreSQL server this test binary starts at its first call: initdb in
// a temporary directory, pg_ctl start on a free loopback port, without
// fsync, user postgres with trust auth.
func Postgres(t testing.TB) string {
	t.Helper()
	servers.mu.Lock()
	if servers.pg == nil && servers.pgErr == nil {
		servers.pg, servers.pgErr = startPostgres()
	}
	pg, err := servers.pg, servers.pgErr
	servers.dbs++
	name := fmt.Sprintf("test_%d_%s", servers.dbs, strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "_")))
	servers.mu.Unlock()
	if errors.Is(err, errMissing) {
		missing(t, "PostgreSQL", "postgresql", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	name = name[:min(len(name), 63)]
	if out, err := pg.run("psql", "-h", "127.0.0.1", "-p", strconv.Itoa(pg.port), "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating the test's database: %v\n%s", err, out)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", pg.port, name)
}

// postgres is a running PostgreSQL server.
type postgres struct {
	bin, dir string
	port     int
	as       *user.User // nil: this process's user
}

func (p *postgres) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(p.bin, name), args...)
	asUser(cmd, p.as)
	return cmd.CombinedOutput()
}

func (p *postgres) stop() {
	_, _ = p.run("pg_ctl", "-D", filepath.Join(p.dir, "data"), "-m", "immediate", "-w", "stop")
	_ = os.RemoveAll(p.dir)
}

func startPostgres() (*postgres, error) {
	bin, err := postgresBin()
	if err != nil {
		return nil, err
	}
	p := &postgres{bin: bin}
	if os.Geteuid() == 0 { // PostgreSQL refuses to run as root
		if p.as, err = user.Lookup("postgres"); err != nil {
			return nil, fmt.Errorf("%w: running as root, and there is no postgres user to run the server as: %v", errMissing, err)
		}
	}
	if p.dir, err = tempDir(p.as); err != nil {
		return nil, err
	}
	data := filepath.Join(p.dir, "data")
	if out, err := p.run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"); err != nil {
		_ = os.RemoveAll(p.dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	if p.port, err = freePort(); err != nil {
		return nil, err
	}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", p.port, p.dir)
	if out, err := p.run("pg_ctl", "-D", data, "-l", filepath.Join(p.dir, "log"), "-w", "-t", "60", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "log"))
		_ = os.RemoveAll(p.dir)
		return nil, fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	return p, nil
}

// postgresBin is the directory of the newest PostgreSQL's binaries.
func postgresBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(dir string) int { v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir))); return v }
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("%w: no pg_ctl under /usr/lib/postgresql/*/bin or in $PATH", errMissing)
}

// Redis returns the address of a redis-server this test binary starts at
// its first call, on a free loopback port, without persistence.
func Redis(t testing.TB) string {
	t.Helper()
	servers.mu.Lock()
	if servers.redisStop == nil && servers.redisErr == nil {
		servers.redisAddr, servers.redisStop, servers.redisErr = startRedis()
	}
	addr, err := servers.redisAddr, servers.redisErr
	servers.mu.Unlock()
	if errors.Is(err, errMissing) {
		missing(t, "Redis", "redis-server", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

func startRedis() (addr string, stop func(), err error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", errMissing, err)
	}
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no",
		"--hz", "500") // blocking commands time out within 2 ms, not 100
	log, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop = func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	// Read its log until it is ready, then drain it until it ends.
	var head bytes.Buffer
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(log)
		for sc.Scan() {
			head.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "Ready to accept connections") {
				ready <- true
				_, _ = io.Copy(io.Discard, log)
				return
			}
		}
		ready <- false
	}()
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	select {
	case ok := <-ready:
		if !ok {
			stop()
			return "", nil, fmt.Errorf("redis-server ended before it was ready:\n%s", head.String())
		}
		return fmt.Sprintf("127.0.0.1:%d", port), stop, nil
	case <-timer.C:
		stop()
		return "", nil, fmt.Errorf("redis-server did not start on port %d within 30 s", port)
	}
}

// freePort returns a loopback port nobody listens on now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// asUser runs cmd as u, if not nil.
func asUser(cmd *exec.Cmd, u *user.User) {
	if u == nil {
		return
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
}

// tempDir makes a directory that u (or this process's user) may write.
func tempDir(u *user.User) (string, error) {
	dir, err := os.MkdirTemp("", "watertight-servertest-")
	if err != nil {
		return "", err
	}
	if u != nil {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return "", err
		}
	}
	return dir, nil
}
