package synth

import (
	"os"
	"testing"
)

// FuzzResolve feeds arbitrary templates to Resolve: it may reject them, never
// panic.
func FuzzResolve(f *testing.F) {
	b, err := os.ReadFile("testdata/small.template.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(machine(`{"Fn::Join":["",["{",{"Fn::GetAtt":"Fn.Arn"},"}"]]}`)))
	f.Add([]byte(machine(`{"Fn::Sub":["${a}${Fn.Arn}${!x}",{"a":{"Fn::Select":[0,{"Fn::Split":[",",{"Ref":"B"}]}]}}]}`)))
	f.Fuzz(func(t *testing.T, template []byte) {
		_, _ = Resolve(template, testEnv)
	})
}
