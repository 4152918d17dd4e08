package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/internal/browsertest"
)

// TestBrowserDocsUploadFiles sends a document and two attachments from the
// docs page in headless Chromium, the app behind a path-stripping proxy at
// /api: the array of files in "extra" renders as one file picker per item,
// and every file picked arrives.
func TestBrowserDocsUploadFiles(t *testing.T) {
	tab := browsertest.Start(t)
	app := NewApp(flow.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	srv := httptest.NewServer(http.StripPrefix("/api", app.Handler()))
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		app.Shutdown(ctx)
	})

	dir := t.TempDir()
	files := map[string]string{"doc.txt": "the document\n", "a.csv": "a,b\n1,2\n", "b.json": `{"n": 1}`}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const (
		op    = "#operations-uploads-post-upload"
		extra = op + ` tr[data-property-name="extra"]`
	)

	browsertest.Run(t, tab, 30*time.Second, "open /api/docs", chromedp.Navigate(srv.URL+"/api/docs"))
	browsertest.Until(t, tab, 30*time.Second, "expand POST /upload", browsertest.Click(op+" .opblock-summary-control"))
	browsertest.Until(t, tab, 10*time.Second, "Try it out", browsertest.Click(op+" .try-out__btn"))
	browsertest.Until(t, tab, 10*time.Second, "add a second attachment", browsertest.Click(extra+" .json-schema-form-item-add"))
	browsertest.Until(t, tab, 10*time.Second, "two file pickers for extra",
		`document.querySelectorAll('`+extra+` .json-schema-form-item input[type=file]').length === 2`)
	for sel, name := range map[string]string{
		op + ` tr[data-property-name="doc"] input[type=file]`:                "doc.txt",
		extra + ` div.json-schema-form-item:nth-of-type(1) input[type=file]`: "a.csv",
		extra + ` div.json-schema-form-item:nth-of-type(2) input[type=file]`: "b.json",
	} {
		browsertest.Run(t, tab, 10*time.Second, "pick "+name, chromedp.SetUploadFiles(chromedp.CSS(sel), []string{filepath.Join(dir, name)}))
	}
	status, body := browsertest.Execute(t, tab, op)
	if status != "201" {
		t.Fatalf("the page shows status %q, want 201: %s", status, body)
	}
	var got Stored
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("the page shows %q: %v", body, err)
	}
	var want []FileInfo
	for _, name := range []string{"doc.txt", "a.csv", "b.json"} {
		sum := sha256.Sum256([]byte(files[name]))
		want = append(want, FileInfo{Name: name, Size: int64(len(files[name])), SHA256: hex.EncodeToString(sum[:])})
	}
	if len(got.Files) != len(want) {
		t.Fatalf("the server stored %+v, want %+v", got.Files, want)
	}
	for i := range want {
		if got.Files[i] != want[i] {
			t.Errorf("file %d: %+v, want %+v", i, got.Files[i], want[i])
		}
	}
	tab.Check(t, srv.Listener.Addr().String())
}
