package trigger

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"

	"github.com/slipwayhq/slipway/internal/workflow"
)

// Step Functions execution names: at most 80 characters; Slipway keeps to
// [A-Za-z0-9-_], which is also safe in CloudWatch Logs and the console URL.
const (
	maxExecutionName = 80
	nameHashLen      = 20 // hex digits of the hash: 80 bits
	maxNamePrefix    = maxExecutionName - 1 - nameHashLen
)

// ExecutionName names the execution that deploys req. It is derived from
// what is deployed: service, environment, image (the digest, for a push),
// service spec version and environment spec version. The same request always
// gets the same name, so a duplicated event finds its execution already there
// (ExecutionAlreadyExists) and starts nothing new; any difference in those
// fields gives a different name. Reason and trigger are deliberately left
// out: two events asking for the same thing are one deployment.
//
// The name reads "<service>-<environment>-<hash>": characters outside
// [A-Za-z0-9-_] become '-', and the readable part is cut so the whole fits in
// 80 characters. The hash covers the full, unaltered fields, so neither the
// replacement nor the cut can make two requests share a name.
func ExecutionName(req workflow.Request) string {
	h := sha256.New()
	for _, f := range []string{req.Service, req.Environment, req.Image, req.SpecVersion, req.EnvironmentSpecVersion} {
		// Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	sum := hex.EncodeToString(h.Sum(nil))[:nameHashLen]

	prefix := nameSafe(req.Service) + "-" + nameSafe(req.Environment)
	if len(prefix) > maxNamePrefix {
		prefix = prefix[:maxNamePrefix]
	}
	return prefix + "-" + sum
}

// nameSafe replaces every character Step Functions names should not carry
// with '-'. The result is ASCII, so cutting it by bytes is safe.
func nameSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}
