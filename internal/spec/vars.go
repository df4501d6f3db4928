package spec

import (
	"errors"
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

// MaxRenderedSize is the most text one service renders to for one
// environment, in bytes: every key and string of its task definition,
// service, auto scaling and strategy, and of the environment's load
// balancers, alarms and role, once variables are substituted. A larger
// rendering is refused at the value that crosses the limit.
const MaxRenderedSize = 1 << 20

// errTooLarge is returned by expand when the result would exceed its limit.
var errTooLarge = errors.New("too large")

// expand replaces ${NAME} in s with vars[NAME]; "$${" is a literal "${".
// It returns the names that are not defined and a syntax error, if any.
// Messages name the problem, never the text of s: it may be a secret.
func expand(s string, vars map[string]string) (string, []string, error) {
	return expandLimit(s, vars, -1)
}

// expandLimit is expand that stops with errTooLarge as soon as the result
// is longer than limit bytes; a negative limit is no limit.
func expandLimit(s string, vars map[string]string, limit int) (string, []string, error) {
	if !strings.Contains(s, "${") {
		if limit >= 0 && len(s) > limit {
			return "", nil, errTooLarge
		}
		return s, nil, nil
	}
	var b strings.Builder
	var missing []string
	for {
		if limit >= 0 && b.Len() > limit {
			return "", nil, errTooLarge
		}
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
			return "", nil, errors.New("a ${ is not closed by }; write ${NAME}, or $${ for a literal ${")
		}
		name := s[i+2 : i+end]
		if !varName.MatchString(name) {
			return "", nil, errors.New("a ${...} holds something that is not a variable name; names are letters, digits and _, or write $${ for a literal ${")
		}
		v, ok := vars[name]
		if !ok {
			if !slices.Contains(missing, name) {
				missing = append(missing, name)
			}
		}
		if limit >= 0 && b.Len()+len(v) > limit {
			return "", nil, errTooLarge
		}
		b.WriteString(v)
		s = s[i+end+1:]
	}
	if limit >= 0 && b.Len() > limit {
		return "", nil, errTooLarge
	}
	return b.String(), missing, nil
}

// references returns the variable names s refers to.
func references(s string) ([]string, error) {
	_, missing, err := expand(s, nil)
	return missing, err
}

// budget is what is left of MaxRenderedSize while a rendering is
// substituted; exceeded is set once the problem has been reported.
type budget struct {
	left     int
	exceeded bool
}

// spend takes n bytes from the budget and reports whether they fit; the
// first time they do not, it reports the problem at n.
func (b *budget) spend(n *node, path string, size int, problems *Problems) bool {
	if b.exceeded {
		return false
	}
	if size <= b.left {
		b.left -= size
		return true
	}
	b.exceeded = true
	*problems = append(*problems, nodeProblem(n, path, fmt.Sprintf(
		"the service renders to more than %d bytes (%s) for this environment once variables are substituted, the limit per service and environment; this value crosses it: use shorter variable values or fewer references to them",
		MaxRenderedSize, sizeName(MaxRenderedSize))))
	return false
}

// substitute expands variables in every string of the tree, reporting
// undefined and malformed variables at their path. Every key and expanded
// string is paid for from b; once it is spent, substitution stops.
func substitute(n *node, path string, vars map[string]string, b *budget, problems *Problems) {
	if b.exceeded {
		return
	}
	switch n.kind {
	case stringKind:
		out, missing, err := expandLimit(n.value, vars, b.left)
		if errors.Is(err, errTooLarge) {
			b.spend(n, path, b.left+1, problems)
			return
		}
		if err != nil {
			*problems = append(*problems, nodeProblem(n, path, err.Error()))
			return
		}
		for _, m := range missing {
			*problems = append(*problems, nodeProblem(n, path, undefinedReason(m)))
		}
		b.spend(n, path, len(out), problems)
		if out != n.value {
			n.substituted = true
		}
		n.value = out
	case mapKind:
		for i, k := range n.keys {
			if !b.spend(n, path, len(k), problems) {
				return
			}
			substitute(n.vals[i], joinPath(path, k), vars, b, problems)
		}
	case listKind:
		for i, item := range n.items {
			substitute(item, fmt.Sprintf("%s[%d]", path, i), vars, b, problems)
		}
	default:
		b.spend(n, path, len(n.value), problems)
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
