package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/replicaflow/replicaflow/registry"
)

// Entry is one upstream registered through the management API: the seed's
// {domain, name_service, port}, with an ID and an optional health path.
type Entry struct {
	// ID identifies the entry (the seed's id_service).
	ID int `json:"id"`
	// Domain is the scheme and host, without a port: http://127.0.0.1.
	Domain string `json:"domain"`
	// NameService is the service name; requests to /{name_service}/... go
	// to its instances.
	NameService string `json:"name_service"`
	// Port is the upstream's port (default 80).
	Port int `json:"port"`
	// HealthPath is GET-checked for a 2xx answer; empty means any answer
	// below 500 at "/" counts as healthy.
	HealthPath string `json:"health_path,omitempty"`
}

// Store keeps the gateway's entries across restarts.
type Store interface {
	// Load returns the saved entries (none when nothing was saved yet).
	Load(ctx context.Context) ([]Entry, error)
	// Save replaces the saved entries.
	Save(ctx context.Context, entries []Entry) error
}

// FileStore keeps the entries in a JSON file, replaced atomically (a
// temporary file in the same directory, synced, then renamed).
type FileStore struct {
	// Path is the file's path.
	Path string
}

// Load reads the file; a missing file holds no entries.
func (f FileStore) Load(context.Context) ([]Entry, error) {
	b, err := os.ReadFile(f.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("gateway: reading store: %w", err)
	}
	var entries []Entry
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, fmt.Errorf("gateway: store %s is not valid JSON: %w", f.Path, err)
	}
	return entries, nil
}

// Save writes the entries to a temporary file and renames it over Path.
func (f FileStore) Save(_ context.Context, entries []Entry) error {
	if entries == nil {
		entries = []Entry{}
	}
	b, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(f.Path)
	tmp, err := os.CreateTemp(dir, ".gateway-store-*")
	if err != nil {
		return fmt.Errorf("gateway: saving store: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if _, err = tmp.Write(append(b, '\n')); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.Path)
	}
	if err != nil {
		return fmt.Errorf("gateway: saving store: %w", err)
	}
	return nil
}

// RedisStore keeps the entries in one Redis key, sealed with AES-256-GCM
// under a key derived from a secret and bound to the key's name, so an
// entry written by anyone without the secret is refused.
type RedisStore struct {
	client redis.UniversalClient
	key    string
	sealer *registry.Sealer
}

// NewRedisStore returns a store in the Redis key key. secret must be at
// least registry.MinSecretLen bytes.
func NewRedisStore(client redis.UniversalClient, key string, secret []byte) (*RedisStore, error) {
	if client == nil || key == "" {
		return nil, errors.New("gateway: Redis store needs a client and a key")
	}
	s, err := registry.NewSealer(secret, "gateway store")
	if err != nil {
		return nil, err
	}
	return &RedisStore{client: client, key: key, sealer: s}, nil
}

// Load reads and opens the entries.
func (s *RedisStore) Load(ctx context.Context) ([]Entry, error) {
	b, err := s.client.Get(ctx, s.key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("gateway: reading store: %w", err)
	}
	plain, _, err := s.sealer.Open(s.key, b, time.Now())
	if err != nil {
		return nil, fmt.Errorf("gateway: store %s: %w", s.key, err)
	}
	var entries []Entry
	if err := json.Unmarshal(plain, &entries); err != nil {
		return nil, fmt.Errorf("gateway: store %s: %w", s.key, err)
	}
	return entries, nil
}

// Save seals and writes the entries.
func (s *RedisStore) Save(ctx context.Context, entries []Entry) error {
	b, err := json.Marshal(entries)
	if err != nil {
		return err
	}
	if err := s.client.Set(ctx, s.key, s.sealer.Seal(s.key, b, time.Time{}), 0).Err(); err != nil {
		return fmt.Errorf("gateway: saving store: %w", err)
	}
	return nil
}
