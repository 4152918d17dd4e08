package dashboard

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"strconv"
	"strings"

	"github.com/replicaflow/replicaflow/internal/guard"
	"github.com/replicaflow/replicaflow/responses"
)

//go:embed assets
var assets embed.FS

// Handler serves the dashboard under Path: the page at Path + "/", its
// files under Path + "/assets/", and the status document at
// Path + "/api/status" (?since=seq limits the history to newer samples).
// It sees the full request path, as flow.Mount passes it.
func (d *Dashboard) Handler() http.Handler {
	files, err := fs.Sub(assets, "assets")
	if err != nil {
		panic("replicaflow: dashboard: " + err.Error())
	}
	static := http.StripPrefix(d.cfg.path+"/assets/", http.FileServerFS(files))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
			"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

		rest, ok := strings.CutPrefix(r.URL.Path, d.cfg.path)
		if !ok || (rest != "" && rest[0] != '/') {
			responses.WriteProblem(w, r, responses.NewProblem(http.StatusNotFound, "no dashboard page at "+r.URL.Path, nil), nil)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			responses.WriteProblem(w, r, responses.NewProblem(http.StatusMethodNotAllowed, r.Method+" is not allowed here; the dashboard is read-only", nil), nil)
			return
		}
		data := rest == "/api/status"
		// The page's files hold no data: with a token they are public, so a
		// browser can load the page and then send the token itself.
		if (data || d.cfg.token == "") && !guard.Allowed(d.cfg.token, w, r) {
			return
		}
		switch {
		case data:
			d.serveStatus(w, r)
		case rest == "":
			http.Redirect(w, r, d.cfg.path+"/", http.StatusMovedPermanently)
		case rest == "/":
			h.Set("Cache-Control", "no-cache")
			http.ServeFileFS(w, r, files, "index.html")
		case strings.HasPrefix(rest, "/assets/") && !strings.HasSuffix(rest, "/"):
			h.Set("Cache-Control", "no-cache")
			static.ServeHTTP(w, r)
		default:
			responses.WriteProblem(w, r, responses.NewProblem(http.StatusNotFound, "no dashboard page at "+r.URL.Path, nil), nil)
		}
	})
}

func (d *Dashboard) serveStatus(w http.ResponseWriter, r *http.Request) {
	var since uint64
	if v := r.URL.Query().Get("since"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			responses.WriteProblem(w, r, responses.NewProblem(http.StatusBadRequest, "since must be a sample number (the seq of a previous status)", nil), nil)
			return
		}
		since = n
	}
	body, err := json.Marshal(d.status(since))
	if err != nil { // cannot happen with these types; answer as a problem rather than panic
		responses.WriteProblem(w, r, responses.NewProblem(http.StatusInternalServerError, "the status could not be encoded", nil), nil)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(body)
}
