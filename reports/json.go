package reports

import (
	"bufio"
	"bytes"
	"encoding"
	"encoding/json"
	"io"
	"reflect"
	"strings"
)

// WriteJSON writes v as indented JSON without HTML escaping: the one JSON encoding of every
// report. The bytes are exactly what a json.Encoder with SetIndent("", "  ") and
// SetEscapeHTML(false) writes, but a struct is written one field, and a slice field one element,
// at a time: the encoder holds a whole document twice (compact, then indented), which for a
// report of a large catalog was most of analyze's peak memory (a 459 MB report at 1000x the
// CNCF catalog). Memory is now bounded by the largest element. O(size of the output).
func WriteJSON(w io.Writer, v any) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := writeJSON(bw, v); err != nil {
		return err
	}
	return bw.Flush()
}

func writeJSON(w *bufio.Writer, v any) error {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	if !streamable(rv) {
		return encodeIndented(w, v, "")
	}
	t := rv.Type()
	w.WriteString("{")
	first := true
	for i := range t.NumField() {
		f := t.Field(i)
		name, omit, ok := jsonField(f)
		if !ok {
			continue
		}
		fv := rv.Field(i)
		if omit(fv) {
			continue
		}
		if !first {
			w.WriteString(",")
		}
		first = false
		w.WriteString("\n  ")
		if err := encodeIndented(w, name, "  "); err != nil {
			return err
		}
		w.WriteString(": ")
		if fv.Kind() == reflect.Slice && fv.Len() > 0 && !hasMarshaler(fv.Type()) && fv.Type().Elem().Kind() != reflect.Uint8 {
			w.WriteString("[")
			for j := range fv.Len() {
				if j > 0 {
					w.WriteString(",")
				}
				w.WriteString("\n    ")
				if err := encodeIndented(w, fv.Index(j).Interface(), "    "); err != nil {
					return err
				}
			}
			w.WriteString("\n  ]")
			continue
		}
		if err := encodeIndented(w, fv.Interface(), "  "); err != nil {
			return err
		}
	}
	if first {
		w.WriteString("}\n")
	} else {
		w.WriteString("\n}\n")
	}
	return nil
}

// streamable reports whether WriteJSON can write rv field by field and match the encoder
// byte for byte: a struct of exported, non-embedded fields with plain tags and no marshaler of
// its own. Anything else is encoded whole.
func streamable(rv reflect.Value) bool {
	if rv.Kind() != reflect.Struct {
		return false
	}
	t := rv.Type()
	if hasMarshaler(t) {
		return false
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous || strings.Contains(f.Tag.Get("json"), ",string") {
			return false
		}
	}
	return true
}

// hasMarshaler reports whether values of t encode themselves (json.Marshaler or
// encoding.TextMarshaler, on the value or its pointer).
func hasMarshaler(t reflect.Type) bool {
	for _, m := range []reflect.Type{reflect.TypeFor[json.Marshaler](), reflect.TypeFor[encoding.TextMarshaler]()} {
		if t.Implements(m) || reflect.PointerTo(t).Implements(m) {
			return true
		}
	}
	return false
}

// jsonField is the name encoding/json gives a struct field and whether it leaves a value out
// (omitempty: empty; omitzero: the zero value, or IsZero() true); ok is false for fields it
// skips.
func jsonField(f reflect.StructField) (name string, omit func(reflect.Value) bool, ok bool) {
	if !f.IsExported() {
		return "", nil, false
	}
	tag := f.Tag.Get("json")
	if tag == "-" {
		return "", nil, false
	}
	name, opts, _ := strings.Cut(tag, ",")
	if name == "" {
		name = f.Name
	}
	var omitEmpty, omitZero bool
	for o := range strings.SplitSeq(opts, ",") {
		omitEmpty = omitEmpty || o == "omitempty"
		omitZero = omitZero || o == "omitzero"
	}
	return name, func(v reflect.Value) bool {
		return omitEmpty && isEmptyJSON(v) || omitZero && isZeroJSON(v)
	}, true
}

// isZeroJSON is encoding/json's notion of zero for omitzero: IsZero() when the type has it.
func isZeroJSON(v reflect.Value) bool {
	if z, ok := v.Interface().(interface{ IsZero() bool }); ok {
		return z.IsZero()
	}
	return v.IsZero()
}

// isEmptyJSON is encoding/json's notion of empty for omitempty.
func isEmptyJSON(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool:
		return !v.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() == 0
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() == 0
	case reflect.Float32, reflect.Float64:
		return v.Float() == 0
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	}
	return false
}

// encodeIndented writes v as the encoder would inside a document whose current line is
// indented by prefix: without the encoder's trailing newline, and without a final newline
// when prefix is not empty.
func encodeIndented(w *bufio.Writer, v any, prefix string) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent(prefix, "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	out := b.Bytes()
	if prefix != "" {
		out = bytes.TrimSuffix(out, []byte("\n"))
	}
	_, err := w.Write(out)
	return err
}
