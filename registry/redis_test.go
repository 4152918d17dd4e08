package registry_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/registry"
)

const testRedisDB = 9 // the tests' own database; FLUSHDB only touches it

var testSecret = []byte("a test secret of 32 bytes length")

// redisClient connects to the local Redis, or skips the test.
func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", DB: testRedisDB,
		DialTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		t.Skipf("Redis is not reachable at 127.0.0.1:6379 (%v); CI starts it", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func randomPrefix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "rftest:" + hex.EncodeToString(b) + ":"
}

func newRedis(t *testing.T, refresh time.Duration) (*registry.Redis, *redis.Client) {
	r, c, _ := newRedisPrefix(t, refresh)
	return r, c
}

func newRedisPrefix(t *testing.T, refresh time.Duration) (*registry.Redis, *redis.Client, string) {
	t.Helper()
	c := redisClient(t)
	prefix := randomPrefix()
	r, err := registry.NewRedis(c, testSecret, registry.WithPrefix(prefix),
		registry.WithRefreshInterval(refresh), registry.WithPollInterval(refresh))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, c, prefix
}

func TestNewRedisNeedsSecret(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer c.Close()
	for _, s := range [][]byte{nil, []byte("short"), []byte("5bj27gMy6Kbb37A7P")} {
		if _, err := registry.NewRedis(c, s); err == nil {
			t.Errorf("secret %q accepted", s)
		}
	}
}

func TestRedisExpiresAfterOwnerDies(t *testing.T) {
	owner, c, prefix := newRedisPrefix(t, 50*time.Millisecond)
	ctx := context.Background()
	if err := owner.Register(ctx, inst("dies", "1", 1), 400*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	owner.Close() // the process stops: no more refresh or renewal
	testutil.WaitFor(t, "the entry to expire with its lease", 5*time.Second, func() bool {
		n, err := c.Exists(ctx, prefix+"{dies}:i:1").Result()
		return err == nil && n == 0
	})
}

func TestRedisFlushHealedWithinOneRefresh(t *testing.T) {
	const refresh = 200 * time.Millisecond
	r, c := newRedis(t, refresh)
	ctx := context.Background()
	if err := r.Register(ctx, inst("heal", "1", 1), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(ctx, inst("heal", "2", 2), 0); err != nil {
		t.Fatal(err)
	}
	if err := c.FlushDB(ctx).Err(); err != nil { // our own DB only
		t.Fatal(err)
	}
	if list, _ := r.Find(ctx, "heal"); len(list) != 0 {
		t.Fatalf("flush did not remove: %+v", list)
	}
	// One interval plus scheduling slack on a busy machine.
	testutil.WaitFor(t, "the entries healed", refresh+2*time.Second, func() bool {
		list, err := r.Find(ctx, "heal")
		return err == nil && len(list) == 2
	})
	if names, _ := r.Services(ctx); len(names) != 1 || names[0] != "heal" {
		t.Fatalf("service index not healed: %v", names)
	}
}

func TestRedisRejectsCopiedAlteredReplayed(t *testing.T) {
	r, c, prefix := newRedisPrefix(t, time.Hour) // no refresh during the test
	ctx := context.Background()
	if err := r.Register(ctx, inst("victim", "good", 1), time.Minute); err != nil {
		t.Fatal(err)
	}
	src := prefix + "{victim}:i:good"
	val, err := c.Get(ctx, src).Bytes()
	if err != nil {
		t.Fatal(err)
	}

	// Copied under another instance's key, and indexed so Find looks at it.
	c.Set(ctx, prefix+"{victim}:i:evil", val, time.Minute)
	c.SAdd(ctx, prefix+"{victim}:idx", "evil")
	if _, err := r.Get(ctx, "victim", "evil"); !errors.Is(err, registry.ErrSealed) {
		t.Fatalf("copied entry: %v", err)
	}
	// Copied under another service's key.
	c.Set(ctx, prefix+"{other}:i:good", val, time.Minute)
	if _, err := r.Get(ctx, "other", "good"); !errors.Is(err, registry.ErrSealed) {
		t.Fatalf("copied to another service: %v", err)
	}
	// Altered: one bit flipped.
	bad := append([]byte(nil), val...)
	bad[len(bad)-5] ^= 1
	c.Set(ctx, prefix+"{victim}:i:good", bad, time.Minute)
	if _, err := r.Get(ctx, "victim", "good"); !errors.Is(err, registry.ErrSealed) {
		t.Fatalf("altered entry: %v", err)
	}
	if list, _ := r.Find(ctx, "victim"); len(list) != 0 {
		t.Fatalf("Find returned rejected entries: %+v", list)
	}
	// Replayed after its sealed expiry.
	if err := r.Register(ctx, inst("victim", "short", 1), 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	old, _ := c.Get(ctx, prefix+"{victim}:i:short").Bytes()
	time.Sleep(150 * time.Millisecond)
	c.Set(ctx, prefix+"{victim}:i:short", old, time.Minute)
	if _, err := r.Get(ctx, "victim", "short"); !errors.Is(err, registry.ErrStale) {
		t.Fatalf("replayed entry: %v", err)
	}
	// Sealed with another secret: skipped.
	other, err := registry.NewRedis(c, []byte("another secret, also long enough"), registry.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Get(ctx, "victim", "evil"); !errors.Is(err, registry.ErrSealed) {
		t.Fatalf("other secret: %v", err)
	}
}

func TestSealer(t *testing.T) {
	s, err := registry.NewSealer(testSecret, "test")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tests := []struct {
		name, openAs string
		expires      time.Time
		want         error
	}{
		{"ok", "k", now.Add(time.Minute), nil},
		{"no expiry", "k", time.Time{}, nil},
		{"other name", "k2", now.Add(time.Minute), registry.ErrSealed},
		{"expired", "k", now.Add(-time.Second), registry.ErrStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := s.Seal("k", []byte("payload"), tt.expires)
			got, _, err := s.Open(tt.openAs, b, now)
			if !errors.Is(err, tt.want) || (err == nil && string(got) != "payload") {
				t.Fatalf("Open = %q, %v; want %v", got, err, tt.want)
			}
		})
	}
	if _, _, err := s.Open("k", []byte("junk"), now); !errors.Is(err, registry.ErrSealed) {
		t.Fatalf("junk: %v", err)
	}
}
