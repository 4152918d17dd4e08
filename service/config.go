package service

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"reflect"

	"github.com/replicaflow/replicaflow/requests"
	"github.com/replicaflow/replicaflow/responses"
)

// configurer decodes, validates and applies a service's typed configuration.
type configurer struct {
	typ   reflect.Type
	apply func(ctx context.Context, data []byte) (any, error)
}

// WithConfig declares the service's configuration: a JSON object decoded into
// T and checked against its `binding` tags, then given to apply. Configure
// (and the management API's configure) use it. A bad configuration is a 422
// listing every failing field; apply may return responses.Error to choose
// its own status.
func WithConfig[T any](apply func(ctx context.Context, cfg T) error) Option {
	if apply == nil {
		panic("replicaflow: service.WithConfig: nil apply function")
	}
	return func(st *settings) {
		st.config = &configurer{
			typ: reflect.TypeFor[T](),
			apply: func(ctx context.Context, data []byte) (any, error) {
				var cfg T
				if err := requests.DecodeJSON(bytes.NewReader(data), &cfg); err != nil {
					return nil, err
				}
				if err := apply(ctx, cfg); err != nil {
					return nil, err
				}
				return cfg, nil
			},
		}
	}
}

// ConfigType returns the Go type of the service's configuration, or nil when
// it declares none.
func (s *Service) ConfigType() reflect.Type {
	if s.config == nil {
		return nil
	}
	return s.config.typ
}

// IsConfigured reports whether a configuration was applied.
func (s *Service) IsConfigured() bool {
	s.info.Lock()
	defer s.info.Unlock()
	return s.configured
}

// Config returns the configuration last applied, or nil.
func (s *Service) Config() any {
	s.info.Lock()
	defer s.info.Unlock()
	return s.current
}

// Configure decodes data (a JSON object) into the service's configuration
// type, validates it and applies it. It is legal in every state but Starting
// and Stopping (which cannot be observed from outside: transitions are
// serialized); a running service applies it live. A service without a
// declared configuration accepts an empty object only.
func (s *Service) Configure(ctx context.Context, data []byte) error {
	s.lc.Lock()
	defer s.lc.Unlock()
	if s.config == nil {
		if len(bytes.TrimSpace(data)) > 0 && string(bytes.TrimSpace(data)) != "{}" && string(bytes.TrimSpace(data)) != "null" {
			return responses.Error(http.StatusUnprocessableEntity, fmt.Sprintf("service %q takes no configuration", s.Name()))
		}
	} else {
		cfg, err := s.config.apply(ctx, data)
		if err != nil {
			return err
		}
		s.info.Lock()
		s.current = cfg
		s.info.Unlock()
	}
	s.info.Lock()
	s.configured = true
	s.info.Unlock()
	if st := s.State(); st == Initialized || st == Stopped || st == Failed {
		s.setState(Configured, nil)
	}
	return nil
}
