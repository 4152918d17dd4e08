// Command replicaflow runs the cluster's roles:
//
//	replicaflow supervisor [flags]   accept worker registrations, health-check them
//	replicaflow gateway [flags]      route /{service}/... to healthy instances
//
// Every flag has an environment default (see -h), and a .env file in the
// working directory supplies the variables the environment does not set, as
// for the workers. The listen address is the first one set of -addr,
// REPLICAFLOW_ADDR, and API_BIND and API_PORT (the variables a worker listens
// on), else the role's default (127.0.0.1:8100 for the supervisor,
// 127.0.0.1:5000 for the gateway).
//
// The server bounds how long a client may hold a connection without sending:
// 10s for a request's headers (-read-header-timeout), 10s of silence inside a
// request body (-body-timeout; an upload that keeps sending is not cut off),
// 2m between two requests of a kept-alive connection (-idle-timeout). Both
// roles stop gracefully on SIGINT and SIGTERM: requests in flight get
// -shutdown-timeout (10s) to finish, then the connections still open are
// closed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	lookup, err := withDotEnv(os.LookupEnv, ".env")
	if err == nil {
		err = run(ctx, os.Args[1:], lookup, os.Stderr, slog.Default())
	}
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "replicaflow:", err)
		}
		os.Exit(2)
	}
}

var errUsage = errors.New("usage")

const usage = `usage: replicaflow <command> [flags]

commands:
  supervisor   accept worker registrations and health-check them
  gateway      route /{service}/... to the healthy instances of a service

run "replicaflow <command> -h" for its flags.
`

// run parses args and runs the chosen role until ctx is done. It reads the
// environment through lookup, writes the usage to stderr and logs to log.
func run(ctx context.Context, args []string, lookup func(string) (string, bool), stderr io.Writer, log *slog.Logger) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "supervisor":
		cfg, err := parseSupervisor(args[1:], lookup, stderr)
		if err != nil {
			return helpIsNoError(err)
		}
		return runSupervisor(ctx, cfg, log)
	case "gateway":
		cfg, err := parseGateway(args[1:], lookup, stderr)
		if err != nil {
			return helpIsNoError(err)
		}
		return runGateway(ctx, cfg, log)
	case "-h", "--help", "help":
		fmt.Fprint(stderr, usage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
	return errUsage
}

// helpIsNoError turns the flag package's answer to -h, which has printed
// the usage, into success.
func helpIsNoError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// serve listens on addr and serves h until ctx is done, then shuts down
// gracefully within t.Shutdown and closes the connections still open. It
// logs the address it listens on (the real port when addr's is 0).
func serve(ctx context.Context, addr string, h http.Handler, t timeouts, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           bodyTimeout(h, t.Body),
		ReadHeaderTimeout: t.ReadHeader,
		IdleTimeout:       t.Idle,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	// The real address, so a port of 0 can be found from the log.
	log.Info("replicaflow: listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("replicaflow: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), t.Shutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// A client that holds its connection past the budget is the
		// client's fault: drop it and stop as planned.
		log.Warn("replicaflow: closing the connections still open after the shutdown timeout", "timeout", t.Shutdown)
		return srv.Close()
	}
	return nil
}

// bodyTimeout bounds the pauses in the request bodies h reads: before each
// read the connection's read deadline moves to d from now, so a client that
// stops sending is dropped after d while one that keeps sending is not. The
// deadline is lifted once the body is read, leaving the connection to the
// server's own timeouts; it also bounds the server's reading of a body that h
// left unread.
func bodyTimeout(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0 {
			rc := http.NewResponseController(w)
			if rc.SetReadDeadline(time.Now().Add(d)) == nil {
				r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc, d: d}
			}
		}
		h.ServeHTTP(w, r)
	})
}

// deadlineBody is a request body whose every read must bring bytes within d.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	d    time.Duration
	done bool
}

// Read moves the read deadline to d from now, reads, and lifts the
// deadline at the end of the body.
func (b *deadlineBody) Read(p []byte) (int, error) {
	if b.done {
		return b.ReadCloser.Read(p)
	}
	b.rc.SetReadDeadline(time.Now().Add(b.d))
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.done = true
		b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
