// Command replicaflow runs the cluster's roles:
//
//	replicaflow supervisor [flags]   accept worker registrations, health-check them
//	replicaflow gateway [flags]      route /{service}/... to healthy instances
//
// Every flag has an environment default (see -h). Both stop gracefully on
// SIGINT and SIGTERM.
package main

import (
	"context"
	"errors"
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
	if err := run(ctx, os.Args[1:], os.LookupEnv, os.Stderr); err != nil {
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

// run parses args and runs the chosen role until ctx is done.
func run(ctx context.Context, args []string, lookup func(string) (string, bool), stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "supervisor":
		cfg, err := parseSupervisor(args[1:], lookup, stderr)
		if err != nil {
			return err
		}
		return runSupervisor(ctx, cfg)
	case "gateway":
		cfg, err := parseGateway(args[1:], lookup, stderr)
		if err != nil {
			return err
		}
		return runGateway(ctx, cfg)
	case "-h", "--help", "help":
		fmt.Fprint(stderr, usage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
	return errUsage
}

// serve listens on addr, serves h until ctx is done, then drains for up
// to 10s. It logs the address it listens on (the real port when addr's is 0).
func serve(ctx context.Context, addr string, h http.Handler, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
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
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}
