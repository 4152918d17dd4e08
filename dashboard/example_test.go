package dashboard_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"

	"github.com/replicaflow/replicaflow/dashboard"
	"github.com/replicaflow/replicaflow/service"
)

func ExampleNew() {
	svc := service.New(service.Name("thumbnails"), service.BaseRoute("/thumbnails"), service.Replicas(1, 8))
	d := dashboard.New(list{svc}, dashboard.Token("")) // a flow mounts its own with dashboard.Mount
	d.Start()
	defer d.Close()

	r := httptest.NewRequest("GET", "http://localhost/dashboard/api/status", nil)
	r.RemoteAddr = "127.0.0.1:50000" // no token: loopback clients only
	w := httptest.NewRecorder()
	d.Handler().ServeHTTP(w, r)

	var st dashboard.Status
	json.Unmarshal(w.Body.Bytes(), &st)
	for _, s := range st.Services {
		fmt.Printf("%s %s: replicas %d..%d, %d history point(s)\n",
			s.Name, s.State, s.Replicas.Min, s.Replicas.Max, len(s.History))
	}
	// Output:
	// thumbnails initialized: replicas 1..8, 1 history point(s)
}
