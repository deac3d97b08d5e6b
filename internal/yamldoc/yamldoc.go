// Package yamldoc holds what the one-document-per-file YAML loaders (trees, mappings) share.
package yamldoc

import (
	"errors"
	"io"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Extra reads the documents left in dec after the first and returns the line where the first
// one that is not empty starts, or 0 when there is none (a trailing "---" is an empty
// document), or the decoder's error. A loader reports that line: a later document would
// otherwise be dropped without a word.
func Extra(dec *yaml.Decoder) (line int, err error) {
	for {
		var extra yaml.Node
		err := dec.Decode(&extra)
		if errors.Is(err, io.EOF) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		if len(extra.Content) > 0 && extra.Content[0].Tag != "!!null" {
			return extra.Content[0].Line, nil
		}
	}
}

// lineRE finds the line in yaml.v3's messages ("yaml: line 7: ...").
var lineRE = regexp.MustCompile(`line (\d+): (.*)`)

// Line splits a yaml.v3 message into its line and the rest, so that a loader can put the
// line right after the file name as every other error does; ok is false when the message
// names no line.
func Line(msg string) (line int, rest string, ok bool) {
	m := lineRE.FindStringSubmatch(msg)
	if m == nil {
		return 0, "", false
	}
	line, _ = strconv.Atoi(m[1])
	return line, m[2], true
}
