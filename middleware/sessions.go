package middleware

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-contrib/sessions"
	"github.com/gin-contrib/sessions/cookie"
	"github.com/gin-gonic/gin"
	gsessions "github.com/gorilla/sessions"

	"github.com/replicaflow/replicaflow/requests"
)

// MinSecretLen is the shortest secret Sessions accepts, in bytes.
const MinSecretLen = 32

// DefaultSessionMaxAge is how long a session cookie lives unless
// SessionMaxAge says otherwise.
const DefaultSessionMaxAge = 14 * 24 * time.Hour

// SessionOption changes how Sessions sets its cookie.
type SessionOption func(*sessionConfig)

type sessionConfig struct {
	opts     sessions.Options
	previous [][]byte
}

// SessionSecure sets the cookie's Secure attribute, so browsers send it over
// HTTPS only. Default false, so that plain-HTTP development works; turn it on
// in production.
func SessionSecure(secure bool) SessionOption {
	return func(c *sessionConfig) { c.opts.Secure = secure }
}

// SessionMaxAge sets how long the cookie lives, to the second; the store also
// rejects cookies older than that. Default 14 days. It panics unless d is at
// least a second.
func SessionMaxAge(d time.Duration) SessionOption {
	if d < time.Second {
		panic("replicaflow: middleware.SessionMaxAge: " + d.String() + " is shorter than a second")
	}
	return func(c *sessionConfig) { c.opts.MaxAge = int(d / time.Second) }
}

// SessionPath sets the cookie's Path attribute. Default "/".
func SessionPath(path string) SessionOption {
	return func(c *sessionConfig) { c.opts.Path = path }
}

// SessionDomain sets the cookie's Domain attribute. Default none: the cookie
// goes back to the host that set it only.
func SessionDomain(domain string) SessionOption {
	return func(c *sessionConfig) { c.opts.Domain = domain }
}

// SessionSameSite sets the cookie's SameSite attribute. Default
// http.SameSiteLaxMode. http.SameSiteNoneMode needs SessionSecure(true).
func SessionSameSite(mode http.SameSite) SessionOption {
	return func(c *sessionConfig) { c.opts.SameSite = mode }
}

// SessionPreviousSecrets lists secrets used before the current one: cookies
// they sealed still open, and are sealed again with the current secret when
// saved. This is how a secret is rotated without logging everyone out.
func SessionPreviousSecrets(secrets ...[]byte) SessionOption {
	for i, s := range secrets {
		checkSecret("SessionPreviousSecrets: secret "+strconv.Itoa(i), s)
	}
	return func(c *sessionConfig) { c.previous = append(c.previous, secrets...) }
}

// Sessions returns middleware that gives each request a cookie session named
// name, built on github.com/gin-contrib/sessions and its cookie store. The
// session's values live in the cookie itself, authenticated (HMAC-SHA256) and
// encrypted (AES-256) with keys derived from secret (HKDF-SHA256), so a client
// can neither read nor change them. A cookie that does not open (tampered,
// expired, other secret) gives an empty session.
//
// The cookie is HttpOnly, SameSite=Lax, Path "/", lives 14 days and is not
// Secure unless SessionSecure(true); options change that.
//
// A handler reaches the session with Session(ctx) (or gin-contrib's
// sessions.Default on the *gin.Context). Changes are sent only when the
// handler calls Save before it returns, as in gin-contrib/sessions.
//
// Sessions panics when name is not a valid cookie name, secret is shorter than
// MinSecretLen bytes, or SameSite=None is asked for without Secure.
func Sessions(name string, secret []byte, opts ...SessionOption) gin.HandlerFunc {
	if err := (&http.Cookie{Name: name}).Valid(); err != nil {
		panic("replicaflow: middleware.Sessions: bad cookie name " + quote(name) + ": " + err.Error())
	}
	checkSecret("Sessions: the secret", secret)
	cfg := sessionConfig{opts: sessions.Options{
		Path:     "/",
		MaxAge:   int(DefaultSessionMaxAge / time.Second),
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.opts.SameSite == http.SameSiteNoneMode && !cfg.opts.Secure {
		panic("replicaflow: middleware.Sessions: SameSite=None needs SessionSecure(true): browsers drop such cookies otherwise")
	}
	keys := sessionKeys(secret)
	for _, s := range cfg.previous {
		keys = append(keys, sessionKeys(s)...)
	}
	store := quietStore{cookie.NewStore(keys...)}
	store.Options(cfg.opts)
	// gin-contrib's Options sets the cookie's Max-Age only; the gorilla store
	// underneath also bounds the age of the cookies it accepts.
	if s, ok := store.Store.(interface{ MaxAge(int) }); ok {
		s.MaxAge(cfg.opts.MaxAge)
	}
	return sessions.Sessions(name, store)
}

// Session returns the session of the request ctx belongs to: ctx is a
// handler's ctx (or the *gin.Context, or a context derived from either). It
// returns nil when ctx carries no request or the Sessions middleware is not
// installed on the route, so a handler that may run without sessions can test
// for it. The session must not be used after the handler returns.
func Session(ctx context.Context) sessions.Session {
	if ctx == nil {
		return nil
	}
	c := requests.GinContext(ctx)
	if c == nil {
		return nil
	}
	v, ok := c.Get(sessions.DefaultKey)
	if !ok {
		return nil
	}
	s, _ := v.(sessions.Session)
	return s
}

// quietStore is a cookie store for which a cookie that does not open is no
// error but an empty session: a client sending a stale or forged cookie is
// not a fault of the server, and gin-contrib would log it as one.
type quietStore struct{ cookie.Store }

// Get returns the request's session, a new one when its cookie does not open.
func (s quietStore) Get(r *http.Request, name string) (*gsessions.Session, error) {
	sess, err := s.Store.Get(r, name)
	if err != nil && sess != nil {
		return sess, nil
	}
	return sess, err
}

// checkSecret panics when secret is too short.
func checkSecret(what string, secret []byte) {
	if len(secret) < MinSecretLen {
		panic("replicaflow: middleware." + what + " has " + strconv.Itoa(len(secret)) +
			" bytes, fewer than " + strconv.Itoa(MinSecretLen) + ": use a random secret of 32 bytes or more")
	}
}

// sessionKeys derives the authentication and the encryption key from secret.
func sessionKeys(secret []byte) [][]byte {
	hashKey, err := hkdf.Key(sha256.New, secret, nil, "replicaflow session authentication", 64)
	if err != nil {
		panic("replicaflow: middleware.Sessions: " + err.Error())
	}
	blockKey, err := hkdf.Key(sha256.New, secret, nil, "replicaflow session encryption", 32)
	if err != nil {
		panic("replicaflow: middleware.Sessions: " + err.Error())
	}
	return [][]byte{hashKey, blockKey}
}
