package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestBombsRefused loads the committed bombs (testdata/bombs): a 66 KB
// environment whose YAML aliases expand to 72 MB and a 266 KB service whose
// one variable, referenced 1,024 times, renders a 256 MiB string. Each is
// refused at the value that crosses the limit, naming the limit, quickly.
func TestBombsRefused(t *testing.T) {
	tests := map[string]struct {
		file         string
		line, column int
		reason       string
	}{
		"aliases": {file: "environments/staging.yaml", line: 15, column: 77,
			reason: fmt.Sprintf("the file expands to more than %d bytes (1 MiB) once YAML aliases are expanded", MaxFileSize)},
		"variables": {file: "services/worker.yaml", line: 14, column: 18,
			reason: fmt.Sprintf("the service renders to more than %d bytes (1 MiB) for this environment once variables are substituted", MaxRenderedSize)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			set, err := Load(os.DirFS("testdata/bombs/" + name))
			problems := asProblemsOrNil(err)
			if err == nil {
				problems = set.Validate()
			}
			elapsed := time.Since(start)
			if len(problems) != 1 {
				t.Fatalf("got %d problems, want 1:\n%v", len(problems), problems)
			}
			p := problems[0]
			if p.File != tc.file || p.Line != tc.line || p.Column != tc.column {
				t.Errorf("got problem at %s:%d:%d, want %s:%d:%d", p.File, p.Line, p.Column, tc.file, tc.line, tc.column)
			}
			if !strings.HasPrefix(p.Reason, tc.reason) {
				t.Errorf("got reason %q, want it to start %q", p.Reason, tc.reason)
			}
			// Before the limits these took seconds and a gigabyte; refused,
			// they take milliseconds. The bound leaves room for a busy machine.
			if elapsed > 2*time.Second {
				t.Errorf("took %v, want well under 2s", elapsed)
			}
		})
	}
}

// TestFileSizeLimit checks the limit on a file as written: one byte over
// MaxFileSize is refused before it is parsed, at line 1.
func TestFileSizeLimit(t *testing.T) {
	pad := func(n int) []byte {
		head := "cluster: c\nlaunchType: FARGATE\n"
		return []byte(head + "#" + strings.Repeat("x", n-len(head)-2) + "\n")
	}
	tests := map[string]struct {
		data    []byte
		wantErr bool
	}{
		"at the limit":    {data: pad(MaxFileSize)},
		"one byte over":   {data: pad(MaxFileSize + 1), wantErr: true},
		"far over":        {data: pad(8 * MaxFileSize), wantErr: true},
		"small and valid": {data: []byte("cluster: c\nlaunchType: FARGATE\n")},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseEnvironment("environments/e.yaml", tc.data)
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			var ps Problems
			if !errors.As(err, &ps) || len(ps) != 1 {
				t.Fatalf("got %v, want one problem", err)
			}
			want := Problem{File: "environments/e.yaml", Line: 1, Column: 1, Reason: fmt.Sprintf(
				"the file is %d bytes, more than the limit of %d bytes (1 MiB) per spec file; split the service or environment, or move large values out of the spec",
				len(tc.data), MaxFileSize)}
			if diff := cmp.Diff(want, ps[0]); diff != "" {
				t.Errorf("problem (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadDoesNotReadLargeFiles checks that Load refuses a file over the
// limit from its size, before reading it.
func TestLoadDoesNotReadLargeFiles(t *testing.T) {
	fsys := baseFS(t)
	fsys["environments/big.yaml"] = &fstest.MapFile{Data: make([]byte, MaxFileSize+1)}
	_, err := Load(unreadable{fsys, "environments/big.yaml"})
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 1 {
		t.Fatalf("got %v, want one problem", err)
	}
	want := Problem{File: "environments/big.yaml", Line: 1, Column: 1, Reason: fmt.Sprintf(
		"the file is %d bytes, more than the limit of %d bytes (1 MiB) per spec file; split the service or environment, or move large values out of the spec",
		MaxFileSize+1, MaxFileSize)}
	if diff := cmp.Diff(want, ps[0]); diff != "" {
		t.Errorf("problem (-want +got):\n%s", diff)
	}
}

// unreadable is a file system whose file at path cannot be opened.
type unreadable struct {
	fstest.MapFS
	path string
}

func (u unreadable) Open(name string) (fs.File, error) {
	if name == u.path {
		return nil, fmt.Errorf("open %s: read, want it refused by its size", name)
	}
	return u.MapFS.Open(name)
}

// ReadFile hides the MapFS's, so every read goes through Open.
func (u unreadable) ReadFile(name string) ([]byte, error) { return fs.ReadFile(onlyOpen{u}, name) }

// onlyOpen is a file system with nothing but Open.
type onlyOpen struct{ fs fs.FS }

func (o onlyOpen) Open(name string) (fs.File, error) { return o.fs.Open(name) }

// ReadDir lists directories through the MapFS, whose entries give sizes.
func (u unreadable) ReadDir(name string) ([]fs.DirEntry, error) { return u.MapFS.ReadDir(name) }

// TestAliasBytesCounted checks that alias expansion counts bytes, not only
// values: few values, each large, cross the limit; the same text without
// aliases is well within it.
func TestAliasBytesCounted(t *testing.T) {
	big := strings.Repeat("x", 100<<10)
	tests := map[string]struct {
		aliases int
		wantErr bool
	}{
		"9 copies of 100 KiB":  {aliases: 9},
		"11 copies of 100 KiB": {aliases: 11, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			doc := "cluster: c\nlaunchType: FARGATE\nalarms: [&a " + big + strings.Repeat(", *a", tc.aliases-1) + "]\n"
			_, err := ParseEnvironment("environments/e.yaml", []byte(doc))
			var ps Problems
			switch {
			case !tc.wantErr && err != nil:
				t.Fatalf("got %v, want no error", err)
			case tc.wantErr && (!errors.As(err, &ps) || len(ps) != 1):
				t.Fatalf("got %v, want one problem", err)
			case tc.wantErr && !strings.Contains(ps[0].Reason, "once YAML aliases are expanded"):
				t.Errorf("got %q, want the alias limit", ps[0].Reason)
			}
		})
	}
}

// TestRenderedSizeLimit checks the limit on one service rendered for one
// environment, counted across the service's document and the environment's
// parts, with the problem at the value that crosses it.
func TestRenderedSizeLimit(t *testing.T) {
	value := strings.Repeat("v", 200<<10) // 200 KiB
	tests := map[string]struct {
		refs    int
		wantErr bool
	}{
		"4 references": {refs: 4},
		"6 references": {refs: 6, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fsys := baseFS(t)
			env := string(fsys["environments/dev.yaml"].Data) + "\nvariables:\n  BIG: " + value + "\n"
			fsys["environments/dev.yaml"] = &fstest.MapFile{Data: []byte(env)}
			svc := strings.Replace(string(fsys["services/app.yaml"].Data), "      image: ${IMAGE}\n",
				"      image: ${IMAGE}\n      environment:\n        - {name: BIG, value: \""+strings.Repeat("${BIG}", tc.refs)+"\"}\n", 1)
			fsys["services/app.yaml"] = &fstest.MapFile{Data: []byte(svc)}
			problems := loadAndValidate(fsys)
			if !tc.wantErr {
				if len(problems) != 0 {
					t.Fatalf("got %v, want no problems", problems)
				}
				return
			}
			if len(problems) != 1 {
				t.Fatalf("got %v, want one problem", problems)
			}
			want := Problem{File: "services/app.yaml", Line: 13, Column: 30, Path: "taskDefinition.containerDefinitions[0].environment[0].value",
				Reason: fmt.Sprintf("the service renders to more than %d bytes (1 MiB) for this environment once variables are substituted, the limit per service and environment; this value crosses it: use shorter variable values or fewer references to them (rendering app for environment dev)", MaxRenderedSize)}
			if diff := cmp.Diff(want, problems[0]); diff != "" {
				t.Errorf("problem (-want +got):\n%s", diff)
			}
		})
	}
}

// TestProblemsDoNotShowSecrets checks that a problem with a container's
// environment or secrets, a variable, or a value a variable was substituted
// into names the field and the rule but never the value (issue 12 item 7):
// problems are recorded as rejections and published as events.
func TestProblemsDoNotShowSecrets(t *testing.T) {
	const secret = "hunter2hunter2"
	tests := map[string]struct {
		container string // the container's extra fields
		variables string // the environment's variables
		wantPath  string
	}{
		"environment entry as a string": {container: "environment: [DB_PASSWORD=" + secret + "]",
			wantPath: "taskDefinition.containerDefinitions[0].environment[0]"},
		"secrets entry as a string": {container: "secrets: [" + secret + "]",
			wantPath: "taskDefinition.containerDefinitions[0].secrets[0]"},
		"unterminated variable in an environment value": {container: "environment: [{name: P, value: \"" + secret + "${X\"}]",
			wantPath: "taskDefinition.containerDefinitions[0].environment[0].value"},
		"bad variable name in an environment value": {container: "environment: [{name: P, value: \"${" + secret + "!}\"}]",
			wantPath: "taskDefinition.containerDefinitions[0].environment[0].value"},
		"variable substituted into a number": {container: "memoryReservation: ${PORT}", variables: "PORT: " + secret,
			wantPath: "taskDefinition.containerDefinitions[0].memoryReservation"},
		"log secret option as a string": {container: "logConfiguration: {logDriver: awsfirelens, secretOptions: [" + secret + "]}",
			wantPath: "taskDefinition.containerDefinitions[0].logConfiguration.secretOptions[0]"},
		"variable as a mapping": {variables: "PASS: {" + secret + ": 1}",
			wantPath: "variables.PASS"},
		"variable with a bad reference": {variables: "PASS: \"" + secret + "${\"",
			wantPath: "variables.PASS"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fsys := baseFS(t)
			svc := strings.Replace(string(fsys["services/app.yaml"].Data), "      image: ${IMAGE}\n",
				"      image: ${IMAGE}\n      "+tc.container+"\n", 1)
			fsys["services/app.yaml"] = &fstest.MapFile{Data: []byte(svc)}
			if tc.variables != "" {
				env := string(fsys["environments/dev.yaml"].Data) + "\nvariables:\n  " + tc.variables + "\n"
				fsys["environments/dev.yaml"] = &fstest.MapFile{Data: []byte(env)}
			}
			problems := loadAndValidate(fsys)
			if len(problems) == 0 {
				t.Fatal("got no problems, want one")
			}
			found := false
			for _, p := range problems {
				if strings.Contains(p.String(), secret) {
					t.Errorf("problem shows the value: %s", p)
				}
				found = found || p.Path == tc.wantPath
			}
			if !found {
				t.Errorf("got %v, want a problem at %s", problems, tc.wantPath)
			}
		})
	}
}
