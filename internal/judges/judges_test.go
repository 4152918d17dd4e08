package judges

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The judges, at pinned versions.
const (
	oapiCodegen = "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2"
	oapiRuntime = "github.com/oapi-codegen/runtime v1.9.0" // what its clients import
	minNode     = 20                                       // the oldest Node the npm packages run on
)

// npmPackages are the npm judges and their exact versions.
var npmPackages = map[string]string{
	"@redocly/cli":            "2.77.0",
	"@stoplight/spectral-cli": "6.16.3",
	"openapi-typescript":      "7.13.0",
	"typescript":              "5.9.3",
}

// example is an example app whose document the judges read, with code
// that compiles against its generated clients only when the fields its
// answers always have are typed as present, and the fields a request may
// leave out as optional.
type example struct {
	name string // the directory under examples
	app  string // the call that builds the app, in its main package
	// goCheck is Go in the package oapi-codegen generates.
	goCheck string
	// tsCheck is TypeScript that imports the generated types as "./api".
	tsCheck string
}

var examples = []example{
	{
		name: "quickstart",
		app:  "NewApp()",
		goCheck: `
var (
	_ string = Hello{}.Message
	_ int64  = MyType{}.Val // required in the request, always in the answer
	_ int64  = Problem{}.Status
	_ = NewClientWithResponses
)`,
		tsCheck: `
type Echo = NonNullable<paths["/"]["post"]["requestBody"]>["content"]["application/json"];
declare const hello: paths["/users/{name}"]["get"]["responses"][200]["content"]["application/json"];
declare const echo: paths["/"]["post"]["responses"][200]["content"]["application/json"];
declare const problem: paths["/"]["post"]["responses"][422]["content"]["application/problem+json"];
export const message: string = hello.message;
export const val: number = echo.val;
export const status: number = problem.status;
export const title: string = problem.title;
export const one: Echo = { val: 1 };
// @ts-expect-error a request must send val
export const noVal: Echo = {};
`,
	},
	{
		name: "responses",
		app:  `NewApp("")`,
		goCheck: `
var (
	_ int64  = Item{}.Id // always in the answer
	_ string = Item{}.Name
	_ *int64 = ItemInput{}.Id // a request may leave it out
	_ = NewClientWithResponses
)`,
		tsCheck: `
type NewItem = NonNullable<paths["/items"]["post"]["requestBody"]>["content"]["application/json"];
declare const created: paths["/items"]["post"]["responses"][201]["content"]["application/json"];
declare const item: paths["/items/{id}"]["get"]["responses"][200]["content"]["application/json"];
export const id: number = created.id;
export const name: string = item.name;
export const empty: NewItem = {}; // a request may leave every field out
// @ts-expect-error an answer always has its fields
export const partial: components["schemas"]["Item"] = { id: 1 };
`,
	},
}

// accepted are the lint warnings that stay, by tool and rule, with the
// reason. A warning of another rule fails the test, and so does any error.
var accepted = map[string]string{
	"redocly tag-description":        "a tag is a service's name; there is no way to describe a service in the document yet",
	"redocly info-license":           "the examples have no license to state, and flow.Info has no field for one",
	"redocly operation-4xx-response": "an endpoint that binds no input (Empty, requests.Request) really answers no 4xx; inventing one would be a lie",
	"redocly operation-2xx-response": "a redirect endpoint answers only its 3xx",
	"spectral info-contact":          "the examples have no contact, and flow.Info has no field for one",
	"spectral info-description":      "the examples set no flow.Info description (cosmetic)",
	"spectral operation-description": "the examples keep their endpoints short; endpoint.Description is there for apps",
}

func TestJudges(t *testing.T) {
	if os.Getenv("REPLICAFLOW_JUDGES") != "1" {
		t.Skip("the judges run with REPLICAFLOW_JUDGES=1 (they need node, npm, and the npm registry and Go module proxy or their caches)")
	}
	goBin := lookPath(t, "go")
	node := lookPath(t, "node")
	npm := lookPath(t, "npm")
	if out, err := run(t, time.Minute, "", nil, node, "--version"); err != nil {
		t.Skipf("node does not run: %v", err)
	} else if v := strings.TrimPrefix(strings.TrimSpace(string(out)), "v"); major(v) < minNode {
		t.Skipf("node %s is older than %d, which the judges need", v, minNode)
	}

	work := t.TempDir()
	docs := map[string]string{}
	for _, ex := range examples {
		docs[ex.name] = writeDocument(t, goBin, work, ex)
	}
	bin := installNPM(t, npm)

	t.Run("redocly", func(t *testing.T) {
		// In a directory of its own: openapi-typescript reads a
		// redocly.yaml in its working directory too.
		config := filepath.Join(work, "redocly", "redocly.yaml")
		writeFile(t, config, "extends:\n  - recommended\n")
		for _, ex := range examples {
			t.Run(ex.name, func(t *testing.T) {
				out, err := run(t, 3*time.Minute, work, nil, filepath.Join(bin, "redocly"),
					"lint", "--config", config, "--format=json", docs[ex.name])
				var report struct {
					Problems []struct {
						RuleID   string `json:"ruleId"`
						Severity string `json:"severity"`
						Message  string `json:"message"`
						Location []struct {
							Pointer string `json:"pointer"`
						} `json:"location"`
					} `json:"problems"`
				}
				if jerr := decodeJSON(out, &report); jerr != nil {
					t.Fatalf("redocly: %v (%v): %s", jerr, err, out)
				}
				var found []finding
				for _, p := range report.Problems {
					where := ""
					if len(p.Location) > 0 {
						where = p.Location[0].Pointer
					}
					found = append(found, finding{"redocly", p.RuleID, p.Severity == "error", where, p.Message})
				}
				judge(t, found)
				if err != nil && !slices.ContainsFunc(found, func(f finding) bool { return f.error }) {
					t.Errorf("redocly failed with no error reported: %v", err)
				}
			})
		}
	})

	t.Run("spectral", func(t *testing.T) {
		ruleset := filepath.Join(work, "spectral.yaml")
		writeFile(t, ruleset, `extends: ["spectral:oas"]`+"\n")
		for _, ex := range examples {
			t.Run(ex.name, func(t *testing.T) {
				out, err := run(t, 3*time.Minute, work, nil, filepath.Join(bin, "spectral"),
					"lint", "--ruleset", ruleset, "--format", "json", docs[ex.name])
				var report []struct {
					Code     string `json:"code"`
					Severity int    `json:"severity"` // 0 error, 1 warning, 2 information, 3 hint
					Message  string `json:"message"`
					Path     []any  `json:"path"`
				}
				if jerr := decodeJSON(out, &report); jerr != nil {
					t.Fatalf("spectral: %v (%v): %s", jerr, err, out)
				}
				var found []finding
				for _, p := range report {
					var where []string
					for _, s := range p.Path {
						where = append(where, fmt.Sprint(s))
					}
					if p.Severity <= 1 {
						found = append(found, finding{"spectral", p.Code, p.Severity == 0, strings.Join(where, "."), p.Message})
					}
				}
				judge(t, found)
				if err != nil && !slices.ContainsFunc(found, func(f finding) bool { return f.error }) {
					t.Errorf("spectral failed with no error reported: %v", err)
				}
			})
		}
	})

	t.Run("oapi-codegen", func(t *testing.T) {
		mod := filepath.Join(work, "goclient")
		writeFile(t, filepath.Join(mod, "go.mod"), "module judges.example/clients\n\ngo 1.26\n\nrequire "+oapiRuntime+"\n")
		env := []string{"GOWORK=off", "GOFLAGS=", "GOTOOLCHAIN=local"}
		// go run builds the generator once; later runs take it from the
		// build cache. It fails for want of the module proxy only.
		if out, err := run(t, 10*time.Minute, mod, env, goBin, "run", oapiCodegen, "-version"); err != nil {
			t.Skipf("could not build %s: %v\n%s", oapiCodegen, err, tail(out))
		}
		for _, ex := range examples {
			pkg := filepath.Join(mod, ex.name)
			writeFile(t, filepath.Join(pkg, "check.go"), "package "+ex.name+"\n"+ex.goCheck+"\n")
			if out, err := run(t, 5*time.Minute, mod, env, goBin, "run", oapiCodegen,
				"-generate", "types,client", "-package", ex.name, "-o", filepath.Join(pkg, "client.go"), docs[ex.name]); err != nil {
				t.Fatalf("%s: oapi-codegen: %v\n%s", ex.name, err, out)
			}
		}
		if out, err := run(t, 5*time.Minute, mod, env, goBin, "mod", "tidy"); err != nil {
			t.Fatalf("go mod tidy: %v\n%s", err, out)
		}
		if out, err := run(t, 5*time.Minute, mod, env, goBin, "vet", "./..."); err != nil {
			t.Errorf("the generated Go clients do not compile: %v\n%s", err, out)
		}
	})

	t.Run("openapi-typescript", func(t *testing.T) {
		dir := filepath.Join(work, "ts")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		var checks []string
		for _, ex := range examples {
			if out, err := run(t, 3*time.Minute, dir, nil, filepath.Join(bin, "openapi-typescript"),
				docs[ex.name], "--output", filepath.Join(dir, ex.name, "api.d.ts")); err != nil {
				t.Fatalf("%s: openapi-typescript: %v\n%s", ex.name, err, out)
			}
			check := filepath.Join(ex.name, "check.ts")
			writeFile(t, filepath.Join(dir, check), `import type { components, paths } from "./api";`+"\n"+ex.tsCheck)
			checks = append(checks, check)
		}
		// One tsc for all: it takes seconds to start.
		args := append([]string{"--noEmit", "--strict", "--noUncheckedIndexedAccess",
			"--target", "es2022", "--module", "esnext", "--moduleResolution", "bundler"}, checks...)
		if out, err := run(t, 3*time.Minute, dir, nil, filepath.Join(bin, "tsc"), args...); err != nil {
			t.Errorf("the TypeScript types do not check: %v\n%s", err, out)
		}
	})
}

// finding is a lint warning or error.
type finding struct {
	tool, rule string
	error      bool
	where, msg string
}

// judge fails the test for every error and every warning of a rule not in
// accepted, and logs the accepted ones.
func judge(t *testing.T, found []finding) {
	t.Helper()
	warnings := map[string]int{}
	for _, f := range found {
		key := f.tool + " " + f.rule
		switch {
		case f.error:
			t.Errorf("error %s at %s: %s", key, f.where, f.msg)
		case accepted[key] == "":
			t.Errorf("warning %s at %s: %s (fix it, or accept the rule with a reason)", key, f.where, f.msg)
		default:
			warnings[key]++
		}
	}
	for _, key := range slices.Sorted(func(yield func(string) bool) {
		for k := range warnings {
			if !yield(k) {
				return
			}
		}
	}) {
		t.Logf("%d× warning %s: accepted: %s", warnings[key], key, accepted[key])
	}
}

// writeDocument writes the OpenAPI document of an example to dir and
// returns its path. The example is a main package, which nothing can
// import, so it is built with one more file (an overlay, which leaves the
// tree alone) that prints its app's document and exits.
func writeDocument(t *testing.T, goBin, dir string, ex example) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(dir, ex.name+"_document.go")
	writeFile(t, src, `package main

import "os"

func init() {
	doc, err := `+ex.app+`.Spec().JSON()
	if err != nil {
		panic(err)
	}
	os.Stdout.Write(doc)
	os.Exit(0)
}
`)
	overlay, _ := json.Marshal(map[string]any{"Replace": map[string]string{
		filepath.Join(root, "examples", ex.name, "zz_judges_document.go"): src,
	}})
	overlayFile := filepath.Join(dir, ex.name+"_overlay.json")
	writeFile(t, overlayFile, string(overlay))
	out, err := run(t, 5*time.Minute, root, []string{"GOWORK=off"}, goBin, "run", "-overlay", overlayFile, "./examples/"+ex.name)
	if err != nil || !json.Valid(out) {
		t.Fatalf("the %s document: %v\n%s", ex.name, err, tail(out))
	}
	path := filepath.Join(dir, ex.name+".json")
	writeFile(t, path, string(out))
	return path
}

// installNPM installs npmPackages into REPLICAFLOW_NPM_CACHE (a temporary
// directory when unset), unless they are there at their versions, and
// returns the directory of their commands.
func installNPM(t *testing.T, npm string) string {
	t.Helper()
	dir := os.Getenv("REPLICAFLOW_NPM_CACHE")
	if dir == "" {
		dir = t.TempDir()
	}
	bin := filepath.Join(dir, "node_modules", ".bin")
	installed := true
	for name, version := range npmPackages {
		var pkg struct{ Version string }
		data, err := os.ReadFile(filepath.Join(dir, "node_modules", name, "package.json"))
		if err != nil || json.Unmarshal(data, &pkg) != nil || pkg.Version != version {
			installed = false
		}
	}
	if installed {
		return bin
	}
	manifest, _ := json.MarshalIndent(map[string]any{"private": true, "dependencies": npmPackages}, "", "  ")
	writeFile(t, filepath.Join(dir, "package.json"), string(manifest))
	start := time.Now()
	out, err := run(t, 10*time.Minute, dir, []string{"npm_config_cache=" + filepath.Join(dir, "npm-cache")}, npm,
		"install", "--no-audit", "--no-fund", "--save-exact", "--loglevel=error")
	if err != nil {
		t.Skipf("could not install the npm judges: %v\n%s", err, tail(out))
	}
	t.Logf("installed the npm judges into %s in %s", dir, time.Since(start).Round(time.Second))
	return bin
}

// run runs a command in dir with env added to the test's own, stopping it
// after timeout, and returns its standard output, with its standard error
// after it when it fails.
func run(t *testing.T, timeout time.Duration, dir string, env []string, name string, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true", "NO_UPDATE_NOTIFIER=1", "npm_config_update_notifier=false")
	cmd.Env = append(cmd.Env, env...)
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s did not finish in %s: %w", filepath.Base(name), timeout, err)
	}
	if err != nil {
		return append(stdout.Bytes(), stderr.Bytes()...), err
	}
	return stdout.Bytes(), nil
}

func lookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("the judges need %s: %v", name, err)
	}
	return p
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// decodeJSON decodes the first JSON value in out, past any banner a tool
// prints before it.
func decodeJSON(out []byte, v any) error {
	i := bytes.IndexAny(out, "{[")
	if i < 0 {
		return fmt.Errorf("no JSON in the output")
	}
	return json.NewDecoder(bytes.NewReader(out[i:])).Decode(v)
}

func major(version string) int {
	n, _ := strconv.Atoi(strings.SplitN(version, ".", 2)[0])
	return n
}

// tail is the end of a long output.
func tail(out []byte) []byte {
	if len(out) > 4000 {
		return out[len(out)-4000:]
	}
	return out
}
