package cluster

// deepCopy copies JSON-shaped values so probes are never mutated.
func deepCopy[T any](v T) T {
	out, _ := copyValue(v).(T)
	return out
}

func copyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = copyValue(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = copyValue(e)
		}
		return s
	default:
		return v
	}
}
