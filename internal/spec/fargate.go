package spec

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// fargateSizes maps a Fargate task cpu (CPU units) to its memory range in MiB.
var fargateSizes = []struct{ cpu, min, max, step int }{
	{256, 512, 2048, 0}, // 512, 1024, 2048
	{512, 1024, 4096, 1024},
	{1024, 2048, 8192, 1024},
	{2048, 4096, 16384, 1024},
	{4096, 8192, 30720, 1024},
	{8192, 16384, 61440, 4096},
	{16384, 32768, 122880, 8192},
}

// fargateMemory returns the memory sizes (MiB) Fargate allows for cpu, or
// nil when cpu is not a Fargate size.
func fargateMemory(cpu int) []int {
	for _, s := range fargateSizes {
		if s.cpu != cpu {
			continue
		}
		if s.step == 0 {
			return []int{512, 1024, 2048}
		}
		var out []int
		for m := s.min; m <= s.max; m += s.step {
			out = append(out, m)
		}
		return out
	}
	return nil
}

// checkFargateSize returns a problem reason for the pair, or "" when the
// pair is valid. which is "cpu" or "memory": the field to blame.
func checkFargateSize(cpuText, memText string) (which, reason string) {
	cpu, ok := parseUnits(cpuText, "vcpu")
	if !ok || fargateMemory(cpu) == nil {
		sizes := make([]string, len(fargateSizes))
		for i, s := range fargateSizes {
			sizes[i] = strconv.Itoa(s.cpu)
		}
		return "cpu", fmt.Sprintf("%q is not a FARGATE cpu size; use one of %s (CPU units)", cpuText, strings.Join(sizes, ", "))
	}
	mem, ok := parseUnits(memText, "gb")
	allowed := fargateMemory(cpu)
	if !ok || !slices.Contains(allowed, mem) {
		return "memory", fmt.Sprintf("%q is not a FARGATE memory size for cpu %d; use %s", memText, cpu, describeSizes(allowed))
	}
	return "", ""
}

func describeSizes(sizes []int) string {
	if len(sizes) <= 3 {
		s := make([]string, len(sizes))
		for i, v := range sizes {
			s[i] = strconv.Itoa(v)
		}
		return strings.Join(s, ", ") + " (MiB)"
	}
	return fmt.Sprintf("%d to %d in steps of %d (MiB)", sizes[0], sizes[len(sizes)-1], sizes[1]-sizes[0])
}

// parseUnits reads "1024" or, with the given unit, "1 vCPU" / "2 GB"
// (1 vCPU = 1024 units, 1 GB = 1024 MiB).
func parseUnits(s, unit string) (int, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		return n, n > 0
	}
	lower := strings.ToLower(s)
	if num, ok := strings.CutSuffix(lower, unit); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || f <= 0 || f > 1e6 {
			return 0, false
		}
		n := f * 1024
		if n != float64(int(n)) {
			return 0, false
		}
		return int(n), true
	}
	return 0, false
}
