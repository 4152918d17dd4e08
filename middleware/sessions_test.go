package middleware_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/middleware"
)

var secret = bytes.Repeat([]byte("k"), 32)

type ctxKey struct{}

// sessionApp has /login, which stores the user in the session, and /me,
// which reads it back through a context derived from the handler's ctx.
func sessionApp(mw gin.HandlerFunc) *gin.Engine {
	e := newEngine(mw)
	e.POST("/login", func(c *gin.Context) {
		var ctx context.Context = c
		s := middleware.Session(ctx)
		s.Set("user", c.Query("user"))
		if err := s.Save(); err != nil {
			c.String(500, err.Error())
			return
		}
		c.Status(204)
	})
	e.GET("/me", func(c *gin.Context) {
		ctx := context.WithValue(c, ctxKey{}, "derived")
		user, _ := middleware.Session(ctx).Get("user").(string)
		c.String(200, user)
	})
	return e
}

// login logs alice in and returns the session cookie.
func login(t *testing.T, e http.Handler) *http.Cookie {
	t.Helper()
	w := serve(e, "POST", "/login?user=alice", nil)
	if w.Code != 204 {
		t.Fatalf("login: status %d: %s", w.Code, w.Body)
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("login set %d cookies, want 1", len(cookies))
	}
	return cookies[0]
}

// me returns who /me says is logged in with cookie.
func me(e http.Handler, cookie string) string {
	return serve(e, "GET", "/me", http.Header{"Cookie": {cookie}}).Body.String()
}

func TestSessionsCookieAttributes(t *testing.T) {
	tests := []struct {
		name     string
		opts     []middleware.SessionOption
		secure   bool
		maxAge   int
		path     string
		domain   string
		sameSite http.SameSite
	}{
		{name: "defaults", maxAge: 14 * 24 * 3600, path: "/", sameSite: http.SameSiteLaxMode},
		{
			name: "options",
			opts: []middleware.SessionOption{
				middleware.SessionSecure(true), middleware.SessionMaxAge(time.Hour),
				middleware.SessionPath("/app"), middleware.SessionDomain("example.com"),
				middleware.SessionSameSite(http.SameSiteStrictMode),
			},
			secure: true, maxAge: 3600, path: "/app", domain: "example.com", sameSite: http.SameSiteStrictMode,
		},
		{
			name:   "SameSite=None when Secure",
			opts:   []middleware.SessionOption{middleware.SessionSecure(true), middleware.SessionSameSite(http.SameSiteNoneMode)},
			secure: true, maxAge: 14 * 24 * 3600, path: "/", sameSite: http.SameSiteNoneMode,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := login(t, sessionApp(middleware.Sessions("sid", secret, tt.opts...)))
			if c.Name != "sid" || !c.HttpOnly || c.Secure != tt.secure || c.MaxAge != tt.maxAge ||
				c.Path != tt.path || c.Domain != tt.domain || c.SameSite != tt.sameSite {
				t.Errorf("cookie %+v: want HttpOnly, Secure=%v, MaxAge=%d, Path=%q, Domain=%q, SameSite=%v",
					c, tt.secure, tt.maxAge, tt.path, tt.domain, tt.sameSite)
			}
			if strings.Contains(c.Value, "alice") {
				t.Errorf("cookie value shows the session's content: %q", c.Value)
			}
		})
	}
}

func TestSessionsAcrossRequests(t *testing.T) {
	e := sessionApp(middleware.Sessions("sid", secret))
	c := login(t, e)
	other := bytes.Repeat([]byte("o"), 32)
	tampered := []byte(c.Value)
	tampered[len(tampered)/2] ^= 1

	tests := []struct {
		name   string
		app    http.Handler
		cookie string
		want   string
	}{
		{"same secret", e, c.Name + "=" + c.Value, "alice"},
		{"no cookie", e, "", ""},
		{"tampered cookie", e, c.Name + "=" + string(tampered), ""},
		{"other secret", sessionApp(middleware.Sessions("sid", other)), c.Name + "=" + c.Value, ""},
		{"rotated secret", sessionApp(middleware.Sessions("sid", other, middleware.SessionPreviousSecrets(secret))), c.Name + "=" + c.Value, "alice"},
		{"other cookie name", sessionApp(middleware.Sessions("other", secret)), c.Name + "=" + c.Value, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := me(tt.app, tt.cookie); got != tt.want {
				t.Errorf("/me = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSessionsExpire(t *testing.T) {
	// The cookie's Max-Age is not enough: the store must refuse old cookies
	// a client kept anyway. The store reads the time, so the test runs in a
	// bubble whose clock advances only when the test waits.
	synctest.Test(t, func(t *testing.T) {
		e := sessionApp(middleware.Sessions("sid", secret, middleware.SessionMaxAge(time.Minute)))
		c := login(t, e)
		tests := []struct {
			after time.Duration // since the login
			want  string
		}{
			{0, "alice"},
			{59 * time.Second, "alice"},
			{61 * time.Second, ""},
			{time.Hour, ""},
		}
		start := time.Now()
		for _, tt := range tests {
			time.Sleep(time.Until(start.Add(tt.after)))
			if got := me(e, c.Name+"="+c.Value); got != tt.want {
				t.Errorf("%v after the login: /me = %q, want %q", tt.after, got, tt.want)
			}
		}
	})
}

func TestSessionWithoutMiddleware(t *testing.T) {
	var got any = "unset"
	e := newEngine()
	e.GET("/", func(c *gin.Context) { got = middleware.Session(c) })
	serve(e, "GET", "/", nil)
	//lint:ignore SA1012 a nil ctx is tested on purpose: Session returns nil for it.
	if got != middleware.Session(nil) || got != nil {
		t.Fatalf("Session without the middleware = %v, want nil", got)
	}
	if s := middleware.Session(context.Background()); s != nil {
		t.Fatalf("Session(context.Background()) = %v, want nil", s)
	}
}

func TestSessionsPanics(t *testing.T) {
	tests := []struct {
		name string
		f    func()
		want string
	}{
		{"short secret", func() { middleware.Sessions("sid", []byte("short")) }, "fewer than 32"},
		{"nil secret", func() { middleware.Sessions("sid", nil) }, "fewer than 32"},
		{"bad cookie name", func() { middleware.Sessions("a b", secret) }, "bad cookie name"},
		{"empty cookie name", func() { middleware.Sessions("", secret) }, "bad cookie name"},
		{"SameSite=None without Secure", func() {
			middleware.Sessions("sid", secret, middleware.SessionSameSite(http.SameSiteNoneMode))
		}, "SameSite=None"},
		{"zero max age", func() { middleware.SessionMaxAge(0) }, "shorter than a second"},
		{"short previous secret", func() { middleware.SessionPreviousSecrets([]byte("x")) }, "fewer than 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testutil.MustPanic(t, tt.want, tt.f) })
	}
}
