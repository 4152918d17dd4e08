// Package middleware holds the HTTP middleware replicaflow ships with: CORS,
// cookie sessions, an HTTP to HTTPS redirect and request IDs.
//
// Each constructor returns a plain gin.HandlerFunc, so it attaches like any
// other gin middleware: to one service with svc.Use, or to the whole flow with
// app.Use.
//
//	app := flow.New()
//	app.Use(middleware.RequestID(), middleware.HTTPSRedirect(middleware.TrustProxy(true)))
//
//	svc := app.Service(service.BaseRoute("/api"))
//	svc.Use(
//		middleware.CORS(middleware.CORSConfig{
//			AllowOrigins:     []string{"https://app.example.com"},
//			AllowCredentials: true,
//		}),
//		middleware.Sessions("session", secret, middleware.SessionSecure(true)),
//	)
//
// A handler reaches what the middleware put on the request through its ctx:
//
//	flow.Endpoint(svc, "POST", "/login", func(ctx context.Context, in Login) (Reply, error) {
//		s := middleware.Session(ctx) // nil when Sessions is not installed
//		s.Set("user", in.User)
//		if err := s.Save(); err != nil {
//			return Reply{}, err
//		}
//		return Reply{RequestID: middleware.RequestIDFrom(ctx)}, nil
//	})
//
// Configuration mistakes (a session secret that is too short, credentials
// allowed for every origin, ...) panic with a "replicaflow: " message when the
// middleware is built; bad requests get RFC 9457 problem details.
package middleware
