// Web shows CORS and cookie sessions on a service, and a request ID on every
// answer of the flow.
//
//	SESSION_SECRET=$(head -c 32 /dev/urandom | base64) go run ./examples/web
//	curl -c jar -H 'Content-Type: application/json' -d '{"user":"ada"}' localhost:8000/api/login
//	curl -b jar localhost:8000/api/me
package main

import (
	"context"
	"crypto/rand"
	"log"
	"net/http"
	"os"

	"github.com/replicaflow/replicaflow/endpoint"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/middleware"
	"github.com/replicaflow/replicaflow/responses"
	"github.com/replicaflow/replicaflow/service"
)

// Login names the user to remember.
type Login struct {
	User string `json:"user" binding:"required,alphanum,max=32"`
}

// Me is who the session says the client is.
type Me struct {
	User      string `json:"user"`
	RequestID string `json:"request_id"`
}

// NewApp builds the web flow; secret signs and encrypts the session cookie.
func NewApp(secret []byte, origins []string, opts ...flow.Option) *flow.Flow {
	app := flow.New(opts...)
	app.Use(middleware.RequestID())
	svc := app.Service(service.BaseRoute("/api"))
	svc.Use(
		middleware.CORS(middleware.CORSConfig{AllowOrigins: origins, AllowCredentials: true}),
		middleware.Sessions("session", secret),
	)
	flow.Endpoint(svc, "POST", "/login", func(ctx context.Context, in Login) (Me, error) {
		s := middleware.Session(ctx)
		s.Set("user", in.User)
		if err := s.Save(); err != nil {
			return Me{}, err
		}
		return Me{User: in.User, RequestID: middleware.RequestIDFrom(ctx)}, nil
	})
	flow.Endpoint(svc, "GET", "/me", func(ctx context.Context, _ struct{}) (Me, error) {
		user, _ := middleware.Session(ctx).Get("user").(string)
		if user == "" {
			return Me{}, responses.Error(http.StatusUnauthorized, "log in first")
		}
		return Me{User: user, RequestID: middleware.RequestIDFrom(ctx)}, nil
	}, endpoint.Errors(http.StatusUnauthorized)) // documents the 401 above

	return app
}

func main() {
	secret := []byte(os.Getenv("SESSION_SECRET"))
	if len(secret) == 0 {
		secret = []byte(rand.Text() + rand.Text()) // sessions last until the process ends
	}
	if err := flow.Run(NewApp(secret, []string{"http://localhost:3000"})); err != nil {
		log.Fatal(err)
	}
}
