package mason

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// TaskResource is the placeholder Resource of the Task state step in
// Document ("${RecycleFunctionArn}"): the deployment substitutes the ARN of
// the step's function for the variable TaskResourceVariable(step).
func TaskResource(step string) string { return "${" + TaskResourceVariable(step) + "}" }

// TaskResourceVariable is the name of the substitution variable of the
// Task state step ("RecycleFunctionArn"), as CloudFormation's
// DefinitionSubstitutions names it.
func TaskResourceVariable(step string) string { return step + "FunctionArn" }

// DocumentTask is what the deployment reads of one Task state of
// Document.
type DocumentTask struct {
	// Name is the state's name (one of Steps).
	Name string
	// Resource is the state's Resource (TaskResource(Name)).
	Resource string
	// TimeoutSeconds is the state's TimeoutSeconds (0: none).
	TimeoutSeconds int
}

// DocumentTasks returns the Task states of Document, sorted by name. It
// fails when a Task state's Resource is not TaskResource of its name, or
// the Task states are not exactly Steps.
func DocumentTasks() ([]DocumentTask, error) {
	var doc struct {
		States map[string]struct {
			Type           string `json:"Type"`
			Resource       string `json:"Resource"`
			TimeoutSeconds int    `json:"TimeoutSeconds"`
		} `json:"States"`
	}
	if err := json.Unmarshal(Document, &doc); err != nil {
		return nil, fmt.Errorf("mason: workflow document: %w", err)
	}
	var out []DocumentTask
	var names []string
	for name, s := range doc.States {
		if s.Type != "Task" {
			continue
		}
		if s.Resource != TaskResource(name) {
			return nil, fmt.Errorf("mason: workflow document: Task state %s has Resource %q, want %q", name, s.Resource, TaskResource(name))
		}
		out = append(out, DocumentTask{Name: name, Resource: s.Resource, TimeoutSeconds: s.TimeoutSeconds})
		names = append(names, name)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	sort.Strings(names)
	want := append([]string(nil), Steps...)
	sort.Strings(want)
	if strings.Join(names, ",") != strings.Join(want, ",") {
		return nil, fmt.Errorf("mason: workflow document: Task states %v, want the steps %v", names, want)
	}
	return out, nil
}
