package distributed_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/replicaflow/replicaflow/distributed"
	"github.com/replicaflow/replicaflow/endpoint"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/requests"
	"github.com/replicaflow/replicaflow/service"
)

// bigNATS starts a NATS server on a loopback port that carries messages of
// up to 16 MiB: the shared one keeps NATS's default 1 MiB, below the 8 MiB
// past which a multipart upload goes to temporary files. It skips the test
// when nats-server is not installed.
func bigNATS(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		t.Skip("nats-server is not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	conf := filepath.Join(t.TempDir(), "nats.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, "listen: %s\nmax_payload: 16777216\n", addr), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", conf)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := "nats://" + addr
	testutil.WaitFor(t, "the NATS server", 10*time.Second, func() bool {
		nc, err := nats.Connect(url)
		if err == nil {
			nc.Close()
		}
		return err == nil
	})
	return url
}

// TestUploadTempFilesRemoved: an upload large enough to spill to temporary
// files, served by a worker through NATS, leaves none behind, whether the
// handler takes it or the request fails validation.
func TestUploadTempFilesRemoved(t *testing.T) {
	url := bigNATS(t)
	spill := filepath.Join(t.TempDir(), "spill")
	if err := os.Mkdir(spill, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", spill)

	a := flow.New(flow.Metrics(""), flow.Docs("", ""), flow.Health(false))
	svc := a.Service(service.Name("up"), service.BaseRoute("/up"))
	flow.Endpoint(svc, "POST", "/file", func(ctx context.Context, in struct {
		Doc   *requests.UploadFile `file:"doc" binding:"required"`
		Title string               `form:"title" binding:"max=5"`
	}) (int64, error) {
		b, err := in.Doc.ReadAll()
		return int64(len(b)), err
	}, endpoint.BodyLimit(16<<20))
	if err := a.StartServices(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Shutdown(context.Background()) })

	dial := func() *nats.Conn {
		nc, err := nats.Connect(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	prefix := uniquePrefix(t)
	w, err := distributed.NewExporter(dial(), a, distributed.ExporterOptions{Prefix: prefix, Node: "w1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Shutdown(context.Background()) })
	in, err := distributed.NewIngress(dial(), distributed.IngressOptions{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(in.Handler("/up", "up"))
	defer srv.Close()
	waitExported(t, w, "up")

	const size = 10 << 20 // over the 8 MiB a form keeps in memory
	tests := []struct {
		name   string
		title  string
		status int
	}{
		{"taken", "ok", 200},
		{"refused by validation", "too long", 422},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			mw.WriteField("title", tt.title)
			fw, _ := mw.CreateFormFile("doc", "big.bin")
			fw.Write(make([]byte, size))
			mw.Close()
			res, err := http.Post(srv.URL+"/up/file", mw.FormDataContentType(), &body)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.status || (tt.status == 200 && string(out) != fmt.Sprint(size)) {
				t.Fatalf("%d %s", res.StatusCode, out)
			}
			left, err := os.ReadDir(spill)
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != 0 {
				t.Fatalf("temporary files left after the request: %v", left)
			}
		})
	}
}
