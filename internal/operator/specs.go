package operator

import (
	"context"
	"path"
	"slices"
	"strings"

	"github.com/slipwayhq/slipway/internal/store"
)

// Services returns the names of the service specs in the spec bucket
// (services/<name>.yaml, .yml or .json), sorted.
func (o *Operator) Services(ctx context.Context) ([]string, error) {
	return o.specNames(ctx, store.ServicesPrefix)
}

// Environments returns the names of the environment specs in the spec
// bucket (environments/<name>.yaml, .yml or .json), sorted.
func (o *Operator) Environments(ctx context.Context) ([]string, error) {
	return o.specNames(ctx, store.EnvironmentsPrefix)
}

// specNames lists the spec files directly under prefix as names.
func (o *Operator) specNames(ctx context.Context, prefix string) ([]string, error) {
	keys, err := o.store.ListSpecs(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, k := range keys {
		rest := strings.TrimPrefix(k, prefix)
		ext := path.Ext(rest)
		if strings.Contains(rest, "/") || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
			continue
		}
		if n := strings.TrimSuffix(rest, ext); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, nil
}
