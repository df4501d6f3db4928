package spec

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Built-in variable names, set by Render for every deployment.
const (
	VarImage        = "IMAGE"
	VarService      = "SERVICE"
	VarEnvironment  = "ENVIRONMENT"
	VarCluster      = "CLUSTER"
	VarDeploymentID = "DEPLOYMENT_ID"
	VarRegion       = "REGION"
	VarAccountID    = "ACCOUNT_ID"
)

// BuiltinVariables lists the built-in variable names.
func BuiltinVariables() []string {
	return []string{VarImage, VarService, VarEnvironment, VarCluster, VarDeploymentID, VarRegion, VarAccountID}
}

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expand replaces ${NAME} in s with vars[NAME]; "$${" is a literal "${".
// It returns the names that are not defined and a syntax error, if any.
func expand(s string, vars map[string]string) (string, []string, error) {
	if !strings.Contains(s, "${") {
		return s, nil, nil
	}
	var b strings.Builder
	var missing []string
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			break
		}
		if i > 0 && s[i-1] == '$' {
			// "$${" escapes: emit "${" and carry on after it.
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", nil, fmt.Errorf("unterminated variable %q; write ${NAME}, or $${ for a literal ${", s[i:])
		}
		name := s[i+2 : i+end]
		if !varName.MatchString(name) {
			return "", nil, fmt.Errorf("%q is not a variable name; names are letters, digits and _", name)
		}
		v, ok := vars[name]
		if !ok {
			if !slices.Contains(missing, name) {
				missing = append(missing, name)
			}
		}
		b.WriteString(v)
		s = s[i+end+1:]
	}
	return b.String(), missing, nil
}

// references returns the variable names s refers to.
func references(s string) ([]string, error) {
	_, missing, err := expand(s, nil)
	return missing, err
}

// substitute expands variables in every string of the tree, reporting
// undefined and malformed variables at their path.
func substitute(n *node, path string, vars map[string]string, problems *Problems) {
	switch n.kind {
	case stringKind:
		out, missing, err := expand(n.value, vars)
		if err != nil {
			*problems = append(*problems, nodeProblem(n, path, err.Error()))
			return
		}
		for _, m := range missing {
			*problems = append(*problems, nodeProblem(n, path, undefinedReason(m)))
		}
		n.value = out
	case mapKind:
		for i, k := range n.keys {
			substitute(n.vals[i], joinPath(path, k), vars, problems)
		}
	case listKind:
		for i, item := range n.items {
			substitute(item, fmt.Sprintf("%s[%d]", path, i), vars, problems)
		}
	}
}

func undefinedReason(name string) string {
	return fmt.Sprintf("undefined variable ${%s}; define it under variables: in the service or environment, or use a built-in (%s)", name, strings.Join(BuiltinVariables(), ", "))
}

func nodeProblem(n *node, path, reason string) Problem {
	if n.pos.path != "" {
		path = n.pos.path
	}
	return Problem{File: n.pos.file, Line: n.pos.line, Column: n.pos.column, Path: path, Reason: reason}
}
