package atomicfile

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// childEnv makes the test binary a writer that stops midway: it writes half a file through
// Write, says so on stdout and waits on stdin, so the parent can kill it mid-write without
// any timing assumption.
const childEnv = "THREATCOV_ATOMICFILE_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(childEnv); path != "" {
		err := Write(path, func(w io.Writer) error {
			if _, err := io.WriteString(w, strings.Repeat("new content that must never be seen half-written\n", 1000)); err != nil {
				return err
			}
			if f, ok := w.(*os.File); ok {
				f.Sync() // the half-written data is on disk, in the temporary file
			}
			os.Stdout.WriteString("mid-write\n")
			io.Copy(io.Discard, os.Stdin) // blocks until killed
			return nil
		})
		if err != nil {
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestInterruptedWriteLeavesPreviousFile kills a process while it writes (SIGKILL: no cleanup
// can run; SIGTERM and SIGINT: Go's default handling, what a user's Ctrl-C does) and checks
// the destination still holds the previous content in full.
func TestInterruptedWriteLeavesPreviousFile(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "report.json")
			previous := []byte(`{"schemaVersion": "threatcov.dev/report/v1", "previous": true}` + "\n")
			if err := os.WriteFile(path, previous, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"="+path)
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil || line != "mid-write\n" {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("child did not reach the middle of the write: %q, %v", line, err)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("child was not stopped by %v: %v", sig, err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(previous) {
				t.Fatalf("destination changed by an interrupted write: %d bytes, want the previous %d", len(got), len(previous))
			}
		})
	}
}

// TestFailedWriteLeavesPreviousFile covers a producer or disk error (a full disk surfaces as a
// write error): the destination is untouched and no temporary file is left behind.
func TestFailedWriteLeavesPreviousFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.svg")
	if err := os.WriteFile(path, []byte("previous"), 0o644); err != nil {
		t.Fatal(err)
	}
	diskFull := syscall.ENOSPC
	err := Write(path, func(w io.Writer) error {
		io.WriteString(w, "partial")
		return diskFull
	})
	if !errors.Is(err, diskFull) {
		t.Fatalf("got %v, want the producer's error", err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "previous" {
		t.Fatalf("destination = %q", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary file left behind: %v", entries)
	}
}

func TestWriteReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.json")
	for _, content := range []string{"one", "two"} {
		if err := WriteBytes(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(path)
		if string(got) != content {
			t.Fatalf("got %q, want %q", got, content)
		}
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, %v", info.Mode(), err)
	}
}
