package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	swaggerFiles "github.com/swaggo/files/v2"
)

// DocsConfig configures the Swagger UI page served by Docs.
type DocsConfig struct {
	// Path is where the page is mounted, from the application's root;
	// default "/docs". The page is at Path + "/index.html".
	Path string
	// SpecPath is where the document is served, from the application's
	// root; default "/openapi.json".
	SpecPath string
	// SpecURL, when set, is the URL the page loads the document from, as
	// is. By default it is SpecPath relative to the page ("../openapi.json"),
	// which keeps working when the application is mounted under a prefix.
	SpecURL string
	// Title is the page's title; default "API docs".
	Title string
	// DocExpansion is how much Swagger UI expands at first: "list" (the
	// default: tags open, operations closed), "full" or "none".
	DocExpansion string
}

// swaggerAssets are the files of Swagger UI the page uses (and their
// source maps), from swaggo/files/v2, embedded in the binary: no CDN.
// index.html and swagger-initializer.js are the page's own.
var swaggerAssets = map[string]bool{
	"index.css": true, "favicon-16x16.png": true, "favicon-32x32.png": true,
	"oauth2-redirect.html": true,
	"swagger-ui.css":       true, "swagger-ui.css.map": true,
	"swagger-ui-bundle.js": true, "swagger-ui-bundle.js.map": true,
	"swagger-ui-standalone-preset.js": true, "swagger-ui-standalone-preset.js.map": true,
}

// docsPage is index.html: Swagger UI's own, with the title set.
var docsPage = template.Must(template.New("index.html").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <title>{{.}}</title>
  <link rel="stylesheet" type="text/css" href="./swagger-ui.css">
  <link rel="stylesheet" type="text/css" href="./index.css">
  <link rel="icon" type="image/png" href="./favicon-32x32.png" sizes="32x32">
  <link rel="icon" type="image/png" href="./favicon-16x16.png" sizes="16x16">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="./swagger-ui-bundle.js" charset="UTF-8"></script>
  <script src="./swagger-ui-standalone-preset.js" charset="UTF-8"></script>
  <script src="./swagger-initializer.js" charset="UTF-8"></script>
</body>
</html>
`))

// docsInitializer is swagger-initializer.js. The validator is off: Swagger
// UI would otherwise send the document's URL to a validator on the internet.
// Swagger UI sends the media type the document names as the Content-Type;
// for a range ("*/*", "image/*": a body of any such type) that is no media
// type, so the request goes without it, and the browser names the type of
// the file or text sent.
const docsInitializer = `function mediaRange(value) {
  const [type, subtype] = String(value).split(";")[0].trim().split("/");
  return type === "*" || subtype === "*";
}

window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: %s,
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true,
    docExpansion: %s,
    defaultModelsExpandDepth: 1,
    oauth2RedirectUrl: new URL("oauth2-redirect.html", window.location.href).href,
    requestInterceptor: function (req) {
      for (const name of Object.keys(req.headers || {})) {
        if (name.toLowerCase() === "content-type" && mediaRange(req.headers[name])) {
          delete req.headers[name];
        }
      }
      return req;
    },
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout"
  });
};
`

// docsPolicy is the page's Content-Security-Policy: scripts from the
// page's own origin only; styles and images from it too, plus the inline
// styles and data: images Swagger UI uses; requests anywhere, since the
// document's servers may be on another host; no plugins, no form posts and
// no framing.
const docsPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src *; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Docs returns the Swagger UI page, with the assets of swaggo/files/v2
// embedded in the binary. Mount it on cfg.Path and everything below it
// (with gin: both "/docs" and "/docs/*any"). It answers GET and HEAD:
//
//	/docs, /docs/        302 to docs/index.html (a relative Location)
//	/docs/index.html     the page, which loads the document from SpecURL
//	/docs/<asset>        Swagger UI's scripts, styles and icons
//
// Every URL the page uses is relative, so the page keeps working when the
// application is mounted under a prefix (http.StripPrefix, a reverse proxy
// that strips one): it matches on the end of the request path only.
func Docs(cfg DocsConfig) http.Handler {
	if cfg.Path == "" {
		cfg.Path = "/docs"
	}
	if cfg.SpecPath == "" {
		cfg.SpecPath = "/openapi.json"
	}
	cfg.Path = "/" + strings.Trim(cfg.Path, "/")
	if cfg.Path == "/" {
		panic("replicaflow: the docs page needs a path of its own, not /")
	}
	if cfg.SpecURL == "" {
		cfg.SpecURL = relativeURL(cfg.Path+"/", cfg.SpecPath)
	}
	if strings.ContainsAny(cfg.SpecURL, "\"'\\<>\n\r`") {
		panic("replicaflow: the docs page's spec URL has a character it cannot carry: " + cfg.SpecURL)
	}
	if cfg.Title == "" {
		cfg.Title = "API docs"
	}
	switch cfg.DocExpansion {
	case "":
		cfg.DocExpansion = "list"
	case "list", "full", "none":
	default:
		panic("replicaflow: DocExpansion is list, full or none, not " + cfg.DocExpansion)
	}

	var page bytes.Buffer
	if err := docsPage.Execute(&page, cfg.Title); err != nil {
		panic("replicaflow: the docs page: " + err.Error())
	}
	js := fmt.Sprintf(docsInitializer, jsString(cfg.SpecURL), jsString(cfg.DocExpansion))
	return &docs{
		root:  cfg.Path,
		files: http.FileServerFS(swaggerFiles.FS),
		own: map[string][]byte{
			"index.html":             page.Bytes(),
			"swagger-initializer.js": []byte(js),
		},
	}
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic("replicaflow: " + err.Error()) // a string always marshals
	}
	return string(b)
}

type docs struct {
	root  string            // "/docs"
	files http.Handler      // Swagger UI's files
	own   map[string][]byte // the page and its initializer, by name
}

func (d *docs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasSuffix(p, d.root):
		redirect(w, d.root[strings.LastIndexByte(d.root, '/')+1:]+"/index.html")
		return
	case strings.HasSuffix(p, d.root+"/"):
		redirect(w, "index.html")
		return
	}
	i := strings.LastIndex(p, d.root+"/")
	name := ""
	if i >= 0 {
		name = p[i+len(d.root)+1:]
	}
	own, isOwn := d.own[name]
	if !isOwn && !swaggerAssets[name] {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if isOwn {
		if name == "index.html" {
			h.Set("Content-Security-Policy", docsPolicy)
		}
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(own))
		return
	}
	// The file server answers for the file's name alone, whatever prefix
	// the application is mounted under.
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path, u.RawPath = "/"+name, ""
	r2.URL = &u
	d.files.ServeHTTP(w, r2)
}

// redirect answers 302 with a relative Location, resolved by the client
// against the URL it asked for: right under any prefix. (http.Redirect
// would make it absolute from the path this process sees.)
func redirect(w http.ResponseWriter, location string) {
	w.Header().Set("Location", location)
	w.WriteHeader(http.StatusFound)
}

// relativeURL returns the URL of the absolute path to, relative to the
// directory fromDir (which ends with a slash).
func relativeURL(fromDir, to string) string {
	from := strings.Split(strings.Trim(fromDir, "/"), "/")
	target := strings.Split(strings.TrimPrefix(to, "/"), "/")
	if from[0] == "" {
		from = nil
	}
	common := 0
	for common < len(from) && common < len(target)-1 && from[common] == target[common] {
		common++
	}
	return strings.Repeat("../", len(from)-common) + strings.Join(target[common:], "/")
}
