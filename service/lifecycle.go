package service

import (
	"context"
)

// Start starts the service's replicas. The flow calls it when it starts, or
// when the service is added to a running flow.
func (s *Service) Start(ctx context.Context) error {
	return nil
}

// Stop stops routing requests to the service, waits for the requests in
// flight until ctx ends, and stops its replicas.
func (s *Service) Stop(ctx context.Context) error {
	return nil
}

// Ready returns nil when the service can take requests, else the reason.
func (s *Service) Ready() error {
	return nil
}
