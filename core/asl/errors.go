package asl

import (
	"errors"
	"fmt"
	"strings"
)

// The error names of the States Language that the runner reports or
// matches. Names a Task reports through ErrorName must not start with
// "States." (the prefix is reserved, as in Step Functions).
const (
	// ErrorAll, in ErrorEquals, matches every error name except
	// ErrorRuntime. It must be alone in its ErrorEquals, and its retrier
	// or catcher must be the last.
	ErrorAll = "States.ALL"
	// ErrorTaskFailed is the name of a Task error that names no other;
	// in ErrorEquals it matches every error name except ErrorTimeout
	// (and ErrorRuntime).
	ErrorTaskFailed = "States.TaskFailed"
	// ErrorTimeout: a Task attempt ran longer than its TimeoutSeconds, or
	// the execution longer than the machine's TimeoutSeconds (that one
	// cannot be retried or caught).
	ErrorTimeout = "States.Timeout"
	// ErrorRuntime: the data did not fit the document (a path that
	// selects nothing in InputPath, Parameters, ResultSelector,
	// OutputPath, a Choice Variable, Wait SecondsPath/TimestampPath,
	// Fail ErrorPath/CausePath; a SecondsPath that is not a non-negative
	// integer). It ends the execution: no retrier or catcher matches it.
	ErrorRuntime = "States.Runtime"
	// ErrorNoChoiceMatched: no rule of a Choice state matched and it has
	// no Default.
	ErrorNoChoiceMatched = "States.NoChoiceMatched"
	// ErrorResultPathMatchFailure: a ResultPath could not be applied (a
	// step of the path is a value that is not an object).
	ErrorResultPathMatchFailure = "States.ResultPathMatchFailure"
)

// ExecutionFailed is the error of an execution that ended in a Fail state
// or with an error no catcher handled. Run returns it wrapped; use
// errors.As.
//
// (The error name is the field Err, not Error: a Go type cannot have a
// field and a method both named Error.)
type ExecutionFailed struct {
	// Err is the ASL error name: a Fail state's Error, a Task's error
	// name, or one of the States.* names.
	Err string
	// Cause is the human-readable cause (a Fail state's Cause, or the
	// error text of the Task).
	Cause string
}

// Error returns "Err: Cause" (or Err when there is no cause).
func (e *ExecutionFailed) Error() string {
	if e.Cause == "" {
		return e.Err
	}
	return e.Err + ": " + e.Cause
}

// ErrorName returns Err, so ErrorName of a failed execution is its ASL
// error name.
func (e *ExecutionFailed) ErrorName() string { return e.Err }

// ErrorName returns the ASL error name of a Task's Go error: the name of
// the first error in its chain that has an ErrorName() string method
// (errors.As), if not empty; otherwise States.TaskFailed. (The runner
// itself names States.Timeout an attempt whose TimeoutSeconds passed,
// whatever the TaskFunc returned: only it knows whose deadline a
// context.DeadlineExceeded was.) A nil error has no name: "".
func ErrorName(err error) string {
	if err == nil {
		return ""
	}
	var named interface{ ErrorName() string }
	if errors.As(err, &named) {
		if n := named.ErrorName(); n != "" {
			return n
		}
	}
	return ErrorTaskFailed
}

// stateError is an ASL error raised in a state: a name and a cause.
type stateError struct {
	name, cause string
}

func (e *stateError) Error() string { return e.name + ": " + e.cause }

func runtimeErrorf(format string, args ...any) *stateError {
	return &stateError{name: ErrorRuntime, cause: fmt.Sprintf(format, args...)}
}

// errorMatches reports whether an ErrorEquals list matches the error
// name. States.Runtime is matched by nothing.
func errorMatches(equals []string, name string) bool {
	if name == ErrorRuntime {
		return false
	}
	for _, e := range equals {
		switch {
		case e == name, e == ErrorAll:
			return true
		case e == ErrorTaskFailed && name != ErrorTimeout:
			return true
		}
	}
	return false
}

// ParseError lists every problem Parse found in a document, each naming
// the state and the field.
type ParseError struct {
	Problems []string
}

// Error lists the problems, one per line after the first.
func (e *ParseError) Error() string {
	if len(e.Problems) == 1 {
		return "asl: invalid state machine: " + e.Problems[0]
	}
	return fmt.Sprintf("asl: invalid state machine (%d problems):\n  %s", len(e.Problems), strings.Join(e.Problems, "\n  "))
}
