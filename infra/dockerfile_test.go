package infra

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	Cmd   string   // upper case: FROM, RUN, ...
	Flags []string // leading --flag=value arguments
	Args  string   // the rest
	Stage int      // index of the FROM it belongs to
}

// parseDockerfile reads the instructions of a Dockerfile; comments and
// parser directives are dropped.
func parseDockerfile(t *testing.T, text string) []instruction {
	t.Helper()
	var out []instruction
	stage := -1
	var line strings.Builder
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "#") || (l == "" && line.Len() == 0) {
			continue
		}
		if cont, ok := strings.CutSuffix(l, `\`); ok {
			line.WriteString(cont + " ")
			continue
		}
		line.WriteString(l)
		full := strings.Join(strings.Fields(line.String()), " ")
		line.Reset()
		if full == "" {
			continue
		}
		cmd, rest, _ := strings.Cut(full, " ")
		in := instruction{Cmd: strings.ToUpper(cmd)}
		for strings.HasPrefix(rest, "--") {
			flag, after, _ := strings.Cut(rest, " ")
			in.Flags = append(in.Flags, flag)
			rest = after
		}
		in.Args = rest
		if in.Cmd == "FROM" {
			stage++
		}
		if stage < 0 {
			if in.Cmd != "ARG" {
				t.Fatalf("%s before the first FROM", in.Cmd)
			}
			continue
		}
		in.Stage = stage
		out = append(out, in)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// dockerfile is what the tests read from ../Dockerfile.
type dockerfile struct {
	build      []instruction // the stage named build
	final      []instruction // the last stage
	buildCmd   string        // the RUN that runs go build, without its flags
	finalImage string
}

func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	ins := parseDockerfile(t, string(b))
	var d dockerfile
	last := ins[len(ins)-1].Stage
	buildStage := -1
	for _, in := range ins {
		if in.Cmd == "FROM" {
			image, name, _ := strings.Cut(in.Args, " AS ")
			if strings.TrimSpace(name) == "build" {
				buildStage = in.Stage
				if image != "golang:1.26" {
					t.Errorf("build stage FROM %s, want golang:1.26", image)
				}
			}
			if in.Stage == last {
				d.finalImage = in.Args
			}
		}
		switch in.Stage {
		case buildStage:
			d.build = append(d.build, in)
			if in.Cmd == "RUN" && strings.Contains(in.Args, "go build") {
				if d.buildCmd != "" {
					t.Fatal("more than one RUN with go build")
				}
				d.buildCmd = in.Args
			}
		case last:
			d.final = append(d.final, in)
		}
	}
	if buildStage < 0 || buildStage == last {
		t.Fatal("no stage named build before the final stage")
	}
	if d.buildCmd == "" {
		t.Fatal("no RUN ... go build in the build stage")
	}
	return d
}

func lastArgs(ins []instruction, cmd string) string {
	args := ""
	for _, in := range ins {
		if in.Cmd == cmd {
			args = in.Args
		}
	}
	return args
}

// TestDockerfileShape checks the image: a static, stripped, reproducible
// build of ./cmd/ecsaudit for the buildx target platform, copied onto
// distroless static as the nonroot user, running `ecsaudit scan` by
// default, with the same user as the job's task definition.
func TestDockerfileShape(t *testing.T) {
	t.Parallel()
	d := readDockerfile(t)
	if d.finalImage != "gcr.io/distroless/static-debian12:nonroot" {
		t.Errorf("final stage FROM %q, want gcr.io/distroless/static-debian12:nonroot", d.finalImage)
	}
	user := lastArgs(d.final, "USER")
	if user != "65532:65532" {
		t.Errorf("final USER %q, want 65532:65532", user)
	}
	if taskUser := deref(jobContainer(t, render(t, "job.yaml", nil)).User); taskUser != user {
		t.Errorf("task definition runs as %q, the image as %q", taskUser, user)
	}
	var entrypoint, command []string
	if err := json.Unmarshal([]byte(lastArgs(d.final, "ENTRYPOINT")), &entrypoint); err != nil || !slices.Equal(entrypoint, []string{"/ecsaudit"}) {
		t.Errorf("ENTRYPOINT %q (%v), want the exec form [\"/ecsaudit\"]", lastArgs(d.final, "ENTRYPOINT"), err)
	}
	if err := json.Unmarshal([]byte(lastArgs(d.final, "CMD")), &command); err != nil || !slices.Equal(command, []string{"scan"}) {
		t.Errorf("CMD %q (%v), want [\"scan\"]", lastArgs(d.final, "CMD"), err)
	}
	copied := false
	for _, in := range d.final {
		if in.Cmd == "COPY" && slices.Contains(in.Flags, "--from=build") && in.Args == "/out/ecsaudit /ecsaudit" {
			copied = true
		}
	}
	if !copied {
		t.Error("final stage does not COPY --from=build /out/ecsaudit /ecsaudit")
	}
	if !slices.ContainsFunc(d.build, func(in instruction) bool {
		return in.Cmd == "ARG" && slices.Equal(strings.Fields(in.Args), []string{"TARGETOS", "TARGETARCH"})
	}) {
		t.Error("build stage does not declare ARG TARGETOS TARGETARCH")
	}
	for _, want := range []string{
		"CGO_ENABLED=0", "GOOS=$TARGETOS", "GOARCH=$TARGETARCH",
		"go build -trimpath", `-ldflags "-s -w`, "-o /out/ecsaudit ./cmd/ecsaudit",
	} {
		if !strings.Contains(d.buildCmd, want) {
			t.Errorf("build command %q lacks %q", d.buildCmd, want)
		}
	}
}

// TestDockerfileBuild runs the Dockerfile's own go build command, the way
// its build stage would, for linux/amd64 and linux/arm64, in a copy of the
// repository filtered by .dockerignore (so the ignore file is proven not to
// drop anything the build needs). Each binary must be statically linked (no
// interpreter, no shared libraries), stripped, and free of build paths; the
// native one must report the build's version and accept every ECSAUDIT_
// variable the job's task definition sets.
func TestDockerfileBuild(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(filepath.Join("..", "cmd", "ecsaudit")); err != nil {
		t.Fatalf("./cmd/ecsaudit, which the Dockerfile builds, is missing: %v", err)
	}
	d := readDockerfile(t)
	context := filepath.Join(t.TempDir(), "src")
	copyContext(t, "..", context)

	for _, arch := range []struct {
		goarch  string
		machine elf.Machine
	}{
		{"amd64", elf.EM_X86_64},
		{"arm64", elf.EM_AARCH64},
	} {
		t.Run(arch.goarch, func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			const version = "v0.0.0-infra-test"
			script := strings.ReplaceAll(d.buildCmd, "/out/", out+"/")
			cmd := exec.Command("sh", "-c", script)
			cmd.Dir = context
			cmd.Env = append(os.Environ(), "TARGETOS=linux", "TARGETARCH="+arch.goarch, "VERSION="+version)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s\n%v\n%s", script, err, b)
			}
			bin := filepath.Join(out, "ecsaudit")
			checkStatic(t, bin, arch.machine, context)

			if runtime.GOOS != "linux" || runtime.GOARCH != arch.goarch {
				return
			}
			got, err := exec.Command(bin, "version").Output()
			if err != nil || strings.TrimSpace(string(got)) != "ecsaudit "+version {
				t.Errorf("ecsaudit version = %q, %v; want %q (the VERSION build arg)", got, err, "ecsaudit "+version)
			}
			help, err := exec.Command(bin, "scan", "--help").Output()
			if err != nil {
				t.Fatalf("ecsaudit scan --help: %v", err)
			}
			c := jobContainer(t, render(t, "job.yaml", map[string]any{"ExternalId": "x-1"}))
			for _, kv := range c.Environment {
				if name := deref(kv.Name); strings.HasPrefix(name, "ECSAUDIT_") && !bytes.Contains(help, []byte("(env "+name)) {
					t.Errorf("the task definition sets %s, which ecsaudit scan does not read", name)
				}
			}
			for _, arg := range c.Command[1:] {
				if strings.HasPrefix(arg, "--") && !bytes.Contains(help, []byte(arg+" ")) {
					t.Errorf("the task definition passes %s, which ecsaudit scan does not accept", arg)
				}
			}
		})
	}
}

// checkStatic fails unless bin is a static ELF executable for machine,
// without a symbol table and without the build directory's path.
func checkStatic(t *testing.T, bin string, machine elf.Machine, buildDir string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != machine {
		t.Errorf("machine %v, want %v", f.Machine, machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("has a PT_INTERP program header: dynamically linked")
		}
	}
	needed, err := f.DynString(elf.DT_NEEDED)
	if err != nil {
		t.Fatal(err)
	}
	if len(needed) > 0 {
		t.Errorf("needs shared libraries %q", needed)
	}
	if f.Section(".symtab") != nil {
		t.Error("has a symbol table: not stripped (-s)")
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(buildDir)) {
		t.Errorf("contains the build directory %s: not built with -trimpath", buildDir)
	}
}
