package baseline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/threatcov/threatcov/analyzer"
)

// MaxSize is the largest baseline Read accepts: far above a real report of the whole catalog
// (a few MiB), small enough that a hostile file cannot exhaust memory.
const MaxSize = 64 << 20

// maxDigits bounds every number in a baseline. Path counts of real catalogs have tens of digits;
// parsing a number of millions of digits into a big.Int takes quadratic time.
const maxDigits = 256

// ErrSchemaVersion is returned (as a *SchemaError) when a file is a report of another schema
// version.
var ErrSchemaVersion = errors.New("report written by another report schema version")

// SchemaError is a report of another schema version than analyzer.SchemaVersion. Its message
// says how to migrate; Rewrite, when set by a caller that knows the analysis flags, is the exact
// command that writes the baseline again.
type SchemaError struct {
	File  string // the report's path
	Found string // its schemaVersion
	// Rewrite is the command that rewrites the file with this threatcov, e.g.
	// "threatcov baseline write base.json --policies policies"; empty: a generic one is given.
	Rewrite string
	// Running is this threatcov's version, when the caller knows it.
	Running string
}

func (e *SchemaError) Unwrap() error { return ErrSchemaVersion }

// Writer says which threatcov wrote a report of the file's schema, as far as this one can
// tell: an older one, a newer one, or none.
func (e *SchemaError) Writer() string {
	const prefix = "threatcov.dev/report/v"
	found, okF := strings.CutPrefix(e.Found, prefix)
	want, _ := strings.CutPrefix(analyzer.SchemaVersion, prefix)
	nf, errF := strconv.Atoi(found)
	nw, errW := strconv.Atoi(want)
	switch {
	case !okF || errF != nil || errW != nil:
		return "not written by threatcov"
	case nf < nw:
		return "written by an older threatcov"
	}
	return "written by a newer threatcov"
}

func (e *SchemaError) Error() string {
	running := "this threatcov"
	if e.Running != "" {
		running += " (" + e.Running + ")"
	}
	rewrite := e.Rewrite
	if rewrite == "" {
		rewrite = "threatcov baseline write " + e.File + "   # with the analysis flags of your check job"
	}
	other := "compare with the threatcov that wrote it: the version your CI job pins (docs/ci.md)"
	if e.Writer() == "written by a newer threatcov" {
		other = "install the threatcov that wrote it, the version your CI job pins: go install github.com/threatcov/threatcov/cmd/threatcov@VERSION"
	}
	return fmt.Sprintf("%s: %v: the file has schema %q (%s); %s reads %q.\n"+
		"  To migrate, rewrite the baseline with this threatcov on the main branch and commit it:\n    %s\n"+
		"  Or %s.", e.File, ErrSchemaVersion, e.Found, e.Writer(), running, analyzer.SchemaVersion, rewrite, other)
}

// ReadFile reads a saved JSON report: a baseline, or what render --report draws (see Read).
func ReadFile(path string) (*analyzer.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read report: %w", err)
	}
	defer f.Close()
	return Read(f, path)
}

// Read reads a baseline: a JSON report of schema analyzer.SchemaVersion. name is used in
// errors, which give the line and say what to do. Unknown fields are ignored (a newer report
// of the same schema version only adds fields); a file of another schema version is rejected
// with ErrSchemaVersion.
func Read(r io.Reader, name string) (*analyzer.Result, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read report %s: %w", name, err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%s: larger than %d MiB, the most threatcov reads back (a report of the CNCF catalog is under 1 MiB): is this a threatcov JSON report?", name, MaxSize>>20)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s: empty file: write a report with 'threatcov baseline write %s' or 'threatcov analyze -o json --file %s'", name, name, name)
	}
	if err := scan(data, name); err != nil {
		return nil, err
	}
	var head struct {
		SchemaVersion *string `json:"schemaVersion"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, decodeError(data, name, err)
	}
	switch {
	case head.SchemaVersion == nil:
		return nil, fmt.Errorf("%s: not a threatcov report (no schemaVersion field): write one with 'threatcov baseline write' or 'threatcov analyze -o json'", name)
	case *head.SchemaVersion != analyzer.SchemaVersion:
		return nil, &SchemaError{File: name, Found: *head.SchemaVersion}
	}
	var res analyzer.Result
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, decodeError(data, name, err)
	}
	if err := validate(&res); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &res, nil
}

// scan walks the tokens once, before decoding, to reject what decoding would choke on: a
// top-level value that is not an object, and numbers too long to parse in reasonable time.
func scan(data []byte, name string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	first := true
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return decodeError(data, name, err)
		}
		if first {
			if d, ok := tok.(json.Delim); !ok || d != '{' {
				return fmt.Errorf("%s:1: not a threatcov report: a report is a JSON object", name)
			}
			first = false
		}
		if n, ok := tok.(json.Number); ok && len(n) > maxDigits {
			return fmt.Errorf("%s:%d: number of %d characters: a report's counts have at most %d digits", name, lineAt(data, dec.InputOffset()), len(n), maxDigits)
		}
	}
}

// decodeError names the line of a JSON error.
func decodeError(data []byte, name string, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("%s:%d: invalid JSON: %v: is this a threatcov JSON report?", name, lineAt(data, syn.Offset), syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(top level)"
		}
		return fmt.Errorf("%s:%d: field %s: want %s, found JSON %s: the file is not a threatcov %s report", name, lineAt(data, typ.Offset), field, typ.Type, typ.Value, analyzer.SchemaVersion)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%s:%d: truncated JSON: the file ends early (an interrupted write?): write the report again", name, lineAt(data, int64(len(data))))
	}
	return fmt.Errorf("%s: %v", name, err)
}

func lineAt(data []byte, offset int64) int {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	if offset < 0 {
		offset = 0
	}
	return bytes.Count(data[:offset], []byte("\n")) + 1
}

// validate checks what the comparison relies on: unique goal ids, and paths that name steps.
func validate(r *analyzer.Result) error {
	goals := map[string]bool{}
	for _, t := range r.Trees {
		for _, g := range t.Goals {
			if g.ID == "" {
				return fmt.Errorf("tree %q has a goal without an id: the file is not a threatcov report", t.ID)
			}
			if goals[g.ID] {
				return fmt.Errorf("goal %q appears twice: the file is not a threatcov report", g.ID)
			}
			goals[g.ID] = true
			for i, p := range g.OpenPaths {
				if len(p.Steps) == 0 {
					return fmt.Errorf("goal %q: open path %d has no steps: the file is not a threatcov report", g.ID, i+1)
				}
				if g.NotShown != nil && g.NotShown.Sign() < 0 {
					return fmt.Errorf("goal %q: negative openPathsNotShown", g.ID)
				}
			}
		}
	}
	return nil
}

// Stable leaves out of a result what changes without coverage changing: the day attestations
// were judged on, the generation time, and the files and lines the mapping entries and
// policies are written at. A baseline written from it changes only when
// coverage does (the attestations' expiry dates stay in the steps).
func Stable(r *analyzer.Result) *analyzer.Result {
	out := *r
	out.Inputs.Date = ""
	out.GeneratedAt = time.Time{}
	// Where the mapping and policies are written is no coverage: moving a file or editing a
	// comment above an entry leaves the baseline as it was.
	out.PolicySources = nil
	// Recommendations are advice, not coverage, and name the files to change as typed.
	out.Recommendations = []analyzer.Recommendation{}
	out.Steps = make([]analyzer.StepResult, len(r.Steps))
	for i, s := range r.Steps {
		s.MappedAt = nil
		out.Steps[i] = s
	}
	return &out
}
