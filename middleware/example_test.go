package middleware_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/middleware"
)

func ExampleCORS() {
	e := gin.New()
	e.Use(middleware.CORS(middleware.CORSConfig{
		AllowOrigins:     []string{"https://app.example.com"},
		AllowCredentials: true,
	}))
	e.PUT("/items", func(c *gin.Context) { c.Status(http.StatusNoContent) })

	// The browser asks first whether it may PUT from its origin.
	r := httptest.NewRequest("OPTIONS", "/items", nil)
	r.Header.Set("Origin", "https://app.example.com")
	r.Header.Set("Access-Control-Request-Method", "PUT")
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("Access-Control-Allow-Origin"))
	fmt.Println(w.Header().Get("Access-Control-Allow-Methods"))
	fmt.Println(w.Header().Get("Access-Control-Allow-Credentials"))

	// Another origin is refused.
	r.Header.Set("Origin", "https://evil.example.com")
	w = httptest.NewRecorder()
	e.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("Content-Type"))
	// Output:
	// 204 https://app.example.com
	// GET,HEAD,POST,PUT,PATCH,DELETE
	// true
	// 403 application/problem+json
}

func ExampleSessions() {
	secret := []byte("a random secret of at least 32 bytes, from config")
	e := gin.New()
	e.ContextWithFallback = true
	e.Use(middleware.Sessions("session", secret))
	// In a replicaflow endpoint the handler's ctx plays the part of c here.
	e.POST("/visit", func(c *gin.Context) {
		var ctx context.Context = c
		s := middleware.Session(ctx)
		n, _ := s.Get("visits").(int)
		s.Set("visits", n+1)
		if err := s.Save(); err != nil {
			c.Status(http.StatusInternalServerError)
			return
		}
		c.String(http.StatusOK, "visit %d", n+1)
	})

	var cookie string
	for range 3 {
		r := httptest.NewRequest("POST", "/visit", nil)
		if cookie != "" {
			r.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
		c := w.Result().Cookies()[0]
		cookie = c.Name + "=" + c.Value
		fmt.Println(w.Body, "HttpOnly:", c.HttpOnly, "SameSite=Lax:", c.SameSite == http.SameSiteLaxMode)
	}
	// Output:
	// visit 1 HttpOnly: true SameSite=Lax: true
	// visit 2 HttpOnly: true SameSite=Lax: true
	// visit 3 HttpOnly: true SameSite=Lax: true
}

func ExampleHTTPSRedirect() {
	e := gin.New()
	e.Use(middleware.HTTPSRedirect(middleware.TrustProxy(true), middleware.HTTPSPort(8443)))
	e.Any("/*path", func(c *gin.Context) { c.String(http.StatusOK, "over HTTPS") })

	for _, proto := range []string{"http", "https"} {
		for _, method := range []string{"GET", "POST"} {
			r := httptest.NewRequest(method, "http://example.com:8080/pay?id=7", nil)
			r.Header.Set("X-Forwarded-Proto", proto) // set by the TLS-terminating proxy
			w := httptest.NewRecorder()
			e.ServeHTTP(w, r)
			fmt.Println(strings.TrimSpace(fmt.Sprintln(proto, method, w.Code, w.Header().Get("Location"))))
		}
	}
	// Output:
	// http GET 307 https://example.com:8443/pay?id=7
	// http POST 308 https://example.com:8443/pay?id=7
	// https GET 200
	// https POST 200
}

func ExampleRequestID() {
	e := gin.New()
	e.ContextWithFallback = true
	e.Use(middleware.RequestID())
	e.GET("/", func(c *gin.Context) {
		c.String(http.StatusOK, "handler saw %s", middleware.RequestIDFrom(c))
	})

	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Request-ID", "checkout-7f3a")
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	fmt.Println(w.Header().Get("X-Request-ID"), "/", w.Body)

	r.Header.Set("X-Request-ID", "not valid!")
	w = httptest.NewRecorder()
	e.ServeHTTP(w, r)
	id := w.Header().Get("X-Request-ID")
	fmt.Println(len(id), strings.HasSuffix(w.Body.String(), id))
	// Output:
	// checkout-7f3a / handler saw checkout-7f3a
	// 32 true
}
