// Command bareinit does nothing but start: a Go binary plus go-graphviz's package
// initialisation (which instantiates Graphviz's WebAssembly module, from wazero's compilation
// cache once warm). Issue 8 states the analyze target as a multiple of this start-up time.
package main

import _ "github.com/goccy/go-graphviz"

func main() {}
