package backend

import (
	"fmt"
	"regexp"
	"strings"
)

// Kind names a store backend.
type Kind string

// The backends.
const (
	Bolt     Kind = "bolt"
	Memory   Kind = "memory"
	DynamoDB Kind = "dynamodb"
)

// DefaultSpec is the store used when none is given.
const DefaultSpec = string(Bolt) + ":" + DefaultBoltPath

// DefaultBoltPath is the file of a bare "bolt" spec.
const DefaultBoltPath = "boskos.db"

// Spec is a parsed store specification.
type Spec struct {
	Kind Kind
	// Path is the bbolt file (Kind Bolt).
	Path string
	// Table is the DynamoDB table name (Kind DynamoDB).
	Table string
}

// String returns the spec in the form Parse reads.
func (s Spec) String() string {
	switch s.Kind {
	case Bolt:
		return "bolt:" + s.Path
	case DynamoDB:
		return "dynamodb:" + s.Table
	}
	return string(s.Kind)
}

// tableName is DynamoDB's rule for table names.
var tableName = regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)

// Parse reads a store specification: "bolt:PATH" (or "bolt" for
// DefaultBoltPath), "memory", or "dynamodb:TABLE". An empty spec is
// DefaultSpec. Errors say what is accepted.
func Parse(spec string) (Spec, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		spec = DefaultSpec
	}
	kind, arg, hasArg := strings.Cut(spec, ":")
	switch Kind(kind) {
	case Bolt:
		if !hasArg {
			return Spec{Kind: Bolt, Path: DefaultBoltPath}, nil
		}
		if arg == "" {
			return Spec{}, fmt.Errorf("store %q: bolt needs a file path, as in bolt:boskos.db", spec)
		}
		return Spec{Kind: Bolt, Path: arg}, nil
	case Memory:
		if hasArg {
			return Spec{}, fmt.Errorf("store %q: memory takes no argument", spec)
		}
		return Spec{Kind: Memory}, nil
	case DynamoDB:
		if arg == "" {
			return Spec{}, fmt.Errorf("store %q: dynamodb needs a table name, as in dynamodb:boskos", spec)
		}
		if !tableName.MatchString(arg) {
			return Spec{}, fmt.Errorf("store %q: invalid DynamoDB table name %q: want 3 to 255 of a-z, A-Z, 0-9, '_', '-', '.'", spec, arg)
		}
		return Spec{Kind: DynamoDB, Table: arg}, nil
	}
	return Spec{}, fmt.Errorf("unknown store %q: want bolt:PATH, memory or dynamodb:TABLE", spec)
}
