package main

import (
	"context"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipwayhq/slipway/examples"
)

// completionTimeout bounds the spec bucket lookup of a completion: a shell
// waits for it on every Tab.
const completionTimeout = 3 * time.Second

// completeSpecs registers dynamic completion of c's SERVICE argument (the
// first positional argument) and of its --env flag: the names of the
// services/ and environments/ specs in the local spec root the --dir flag
// names (dir, when the command has one and it is a directory), or failing
// that in the spec bucket found through sf (when the command is an
// operator command), looked up with a short timeout. Errors complete
// nothing, silently: a completion must not print into the prompt.
func completeSpecs(c *cobra.Command, sf *stackFlags, dir *string) {
	names := func(kind string) func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			var list []string
			if dir != nil && *dir != "" {
				if st, err := os.Stat(*dir); err == nil && st.IsDir() {
					list = localSpecNames(os.DirFS(*dir), kind)
				}
			}
			if list == nil && dir != nil && *dir != "" && !cmd.Flags().Changed("dir") {
				// render without --dir outside the repository renders
				// the built-in examples.
				list = localSpecNames(examples.FS(), kind)
			}
			if list == nil && sf != nil {
				list = bucketSpecNames(cmd.Context(), sf, kind)
			}
			var out []cobra.Completion
			for _, n := range list {
				if strings.HasPrefix(n, toComplete) {
					out = append(out, n)
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp
		}
	}
	services := names("services")
	c.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return services(cmd, args, toComplete)
	}
	if c.Flags().Lookup("env") != nil {
		_ = c.RegisterFlagCompletionFunc("env", names("environments"))
	}
}

// localSpecNames lists the spec names under kind/ (services or
// environments) of a spec root, sorted.
func localSpecNames(root fs.FS, kind string) []string {
	entries, err := fs.ReadDir(root, kind)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		ext := path.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
			continue
		}
		if n := strings.TrimSuffix(e.Name(), ext); !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// bucketSpecNames lists the spec names under kind/ in the spec bucket, or
// nothing when the stack cannot be reached within completionTimeout.
func bucketSpecNames(ctx context.Context, sf *stackFlags, kind string) []string {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	op, err := sf.connect(ctx)
	if err != nil {
		return nil
	}
	var list []string
	if kind == "services" {
		list, err = op.Services(ctx)
	} else {
		list, err = op.Environments(ctx)
	}
	if err != nil {
		return nil
	}
	return list
}
