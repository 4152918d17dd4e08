package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"

	"github.com/replicaflow/replicaflow/cluster/gateway"
	"github.com/replicaflow/replicaflow/cluster/supervisor"
	"github.com/replicaflow/replicaflow/distributed"
	"github.com/replicaflow/replicaflow/registry"
)

// openRegistry returns the Redis registry when a URL is set, else memory
// (or nil for the gateway, which then routes to its own entries only).
func openRegistry(c common, memory bool) (registry.Registry, *redis.Client, error) {
	if c.RedisURL == "" {
		if memory {
			return registry.NewMemory(), nil, nil
		}
		return nil, nil, nil
	}
	opt, err := redis.ParseURL(c.RedisURL)
	if err != nil {
		return nil, nil, err
	}
	client := redis.NewClient(opt)
	reg, err := registry.NewRedis(client, []byte(c.RedisSecret), registry.WithPrefix(c.RedisPrefix))
	if err != nil {
		client.Close()
		return nil, nil, err
	}
	return reg, client, nil
}

func runSupervisor(ctx context.Context, c supervisorConfig, log *slog.Logger) error {
	reg, client, err := openRegistry(c.common, true)
	if err != nil {
		return err
	}
	defer reg.Close()
	if client != nil {
		defer client.Close()
	}
	s := supervisor.New(supervisor.Options{
		Registry: reg, Token: c.Token, RegisterPath: c.RegisterPath, Failures: c.Failures,
		Successes: c.Successes, Grace: c.Grace, DefaultInterval: c.DefaultInterval, Timeout: c.Timeout,
		Logger: log,
	})
	defer s.Close()
	if err := s.Start(ctx); err != nil {
		return err
	}
	return serve(ctx, c.Addr, s, c.Timeouts, log)
}

func runGateway(ctx context.Context, c gatewayConfig, log *slog.Logger) error {
	reg, client, err := openRegistry(c.common, false)
	if err != nil {
		return err
	}
	if reg != nil {
		defer reg.Close()
		defer client.Close()
	}
	var store gateway.Store = gateway.FileStore{Path: c.StorePath}
	if c.RedisStoreKey != "" {
		if store, err = gateway.NewRedisStore(client, c.RedisStoreKey, []byte(c.RedisSecret)); err != nil {
			return err
		}
	}
	opts := gateway.Options{
		Registry: reg, Store: store, Token: c.Token, DisableManagement: c.DisableManagement,
		Timeout: c.Timeout, CheckInterval: c.CheckInterval, Logger: log,
	}
	if c.NATSURL != "" {
		nc, err := nats.Connect(c.NATSURL, nats.Name("replicaflow gateway"), nats.MaxReconnects(-1))
		if err != nil {
			return fmt.Errorf("connect to NATS: %w", err)
		}
		defer nc.Close() // after the server below has finished its requests
		ingress, err := distributed.NewIngress(nc, distributed.IngressOptions{Flow: c.NATSFlow, Logger: log})
		if err != nil {
			return err
		}
		opts.Remote = ingress
	}
	g, err := gateway.New(ctx, opts)
	if err != nil {
		return err
	}
	defer g.Close()
	g.Start(ctx)
	return serve(ctx, c.Addr, g, c.Timeouts, log)
}
