// Package servertest starts the real servers that tests of the pool
// adapters run against — PostgreSQL and Redis, from Debian's packages —
// each in a temporary directory, on loopback, for one test, and stops
// them when it ends.
//
// A test whose server's binaries are missing is skipped, saying so
// loudly; when WATERTIGHT_REQUIRE_SERVERS is set (.ci/run sets it once
// it has installed them), it fails instead.
package servertest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// missing skips t, or fails it when the servers are required.
func missing(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("WATERTIGHT_REQUIRE_SERVERS") != "" {
		t.Fatalf("%s is required (WATERTIGHT_REQUIRE_SERVERS is set) and cannot be started: %v", what, err)
	}
	t.Skipf("SKIPPED, this test needs a real %s, which cannot be started here: %v (apt-get install -y %s)", what, err, map[string]string{"PostgreSQL": "postgresql", "Redis": "redis-server"}[what])
}

// freePort returns a loopback port nobody listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// asUser runs cmd as the named user when this process is root (the
// servers refuse to run as root), and as is otherwise.
func asUser(cmd *exec.Cmd, u *user.User) {
	if u == nil {
		return
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
}

// serverUser is who runs the servers: the postgres user when this process
// is root, nobody (nil) otherwise.
func serverUser(t testing.TB) (*user.User, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	return user.Lookup("postgres")
}

// tempDir makes a directory that u may write, removed when t ends.
func tempDir(t testing.TB, u *user.User) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "watertight-servertest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if u != nil {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// postgresBin is the directory of the newest PostgreSQL's binaries.
func postgresBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi < vj
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "pg_ctl")); err == nil {
			return dirs[i], nil
		}
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("no pg_ctl under /usr/lib/postgresql/*/bin or in $PATH")
}

// Postgres starts a PostgreSQL server for t — initdb in a temporary
// directory, pg_ctl start on a free loopback port, no fsync — and returns
// the DSN of its postgres database, user postgres, trust auth. It is
// stopped and removed when t ends. Starting takes a few seconds.
func Postgres(t testing.TB) string {
	t.Helper()
	bin, err := postgresBin()
	if err != nil {
		missing(t, "PostgreSQL", err)
	}
	u, err := serverUser(t)
	if err != nil {
		missing(t, "PostgreSQL", fmt.Errorf("running as root, and no postgres user to run the server as: %w", err))
	}
	dir := tempDir(t, u)
	data := filepath.Join(dir, "data")
	run := func(name string, args ...string) {
		cmd := exec.Command(filepath.Join(bin, name), args...)
		asUser(cmd, u)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	port := freePort(t)
	run("pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-t", "60",
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", port, dir), "start")
	t.Cleanup(func() {
		cmd := exec.Command(filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop")
		asUser(cmd, u)
		_ = cmd.Run()
	})
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
}

// Redis starts a redis-server for t on a free loopback port, without
// persistence, and returns its address. It is stopped when t ends.
func Redis(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		missing(t, "Redis", err)
	}
	port := freePort(t)
	cmd := exec.Command(path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		missing(t, "Redis", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		signalled := false
		for sc.Scan() {
			if !signalled && strings.Contains(sc.Text(), "Ready to accept connections") {
				close(ready)
				signalled = true
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	select {
	case <-ready:
	case <-ctx.Done():
		t.Fatalf("redis-server did not start on port %d within 30 s", port)
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}
