package flow_test

import (
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestCoreLinksNoOptionalSubsystem checks that the core and a plain HTTP
// app built on it link none of the optional subsystems' dependencies: NATS
// (distributed mode), Redis (the cluster's registry) and godotenv (the
// cluster worker's .env). Those come with the packages that plug them in.
//
// Nor does a server link kin-openapi, which the tests use to judge the
// document: its JSON Schema dependency compiles meta-schemas when the
// program starts, about 370 KB and 2,000 objects that stay live, and every
// garbage collection marks them again — on the JSON echo benchmark that
// made a server's CPU per request 4–6 % dearer.
func TestCoreLinksNoOptionalSubsystem(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the dependencies with")
	}
	forbidden := []string{
		"github.com/nats-io/", "github.com/redis/go-redis/", "github.com/joho/godotenv",
		"github.com/getkin/kin-openapi/", "github.com/santhosh-tekuri/jsonschema/",
	}
	for _, pkg := range []string{"./flow", "./examples/quickstart"} {
		t.Run(pkg, func(t *testing.T) {
			cmd := exec.Command(goCmd, "list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", pkg)
			cmd.Dir = ".." // the module's root
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list -deps %s: %v", pkg, err)
			}
			imports := map[string][]string{} // package → its imports
			var root string
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				f := strings.Fields(line)
				imports[f[0]] = f[1:]
				root = f[0] // go list -deps prints the package itself last
			}
			for _, bad := range forbidden {
				for _, p := range slices.Sorted(maps.Keys(imports)) {
					if strings.HasPrefix(p, bad) {
						t.Errorf("%s links %s: %s", pkg, p, strings.Join(importChain(imports, root, p), " → "))
						break
					}
				}
			}
		})
	}
}

// importChain returns a shortest chain of imports from root to target.
func importChain(imports map[string][]string, root, target string) []string {
	prev := map[string]string{root: ""}
	queue := []string{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == target {
			var chain []string
			for ; p != ""; p = prev[p] {
				chain = append([]string{p}, chain...)
			}
			return chain
		}
		for _, q := range imports[p] {
			if _, seen := prev[q]; !seen {
				prev[q] = p
				queue = append(queue, q)
			}
		}
	}
	return []string{root, "…", target}
}
