package main

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"
)

func newIndexCommand() *cobra.Command {
	c := &cobra.Command{
		Use:     "index",
		Short:   "Maintain the repository index that maps ECR pushes to services",
		Example: "  slipway index rebuild",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return usageErrorf("index needs a subcommand: slipway index rebuild")
		},
	}
	c.AddCommand(newIndexRebuildCommand())
	return c
}

func newIndexRebuildCommand() *cobra.Command {
	var sf stackFlags
	c := &cobra.Command{
		Use:   "rebuild",
		Short: "Rebuild the repository index from the spec bucket",
		Long: `rebuild replaces the repository index (which ECR pushes are looked up in)
with one built from the latest version of every services/*.yaml in the spec
bucket: after the index was lost, or when specs were uploaded before the
stack listened for uploads. A spec that does not parse or validate is left
out and listed with its problems; spec uploads keep the index current
afterwards.
` + operatorHelp,
		Example: `  slipway index rebuild
  slipway index rebuild --stack Deployer`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			op, err := sf.connect(c.Context())
			if err != nil {
				return err
			}
			idx, skipped, err := op.RebuildIndex(c.Context())
			if err != nil {
				return err
			}
			names := make([]string, 0, len(idx.Entries))
			for n := range idx.Entries {
				names = append(names, n)
			}
			slices.Sort(names)
			out := c.OutOrStdout()
			for _, n := range names {
				e := idx.Entries[n]
				fmt.Fprintf(out, "%s: repository %s, tags %v\n", n, e.Repository, e.Tags)
			}
			for _, s := range skipped {
				for _, p := range s.Problems {
					fmt.Fprintf(c.ErrOrStderr(), "skipped %s: %s\n", s.Key, p)
				}
			}
			fmt.Fprintf(out, "index rebuilt: %d services, %d specs skipped\n", len(names), len(skipped))
			return nil
		},
	}
	sf.add(c)
	return c
}
