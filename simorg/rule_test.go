package simorg

import "testing"

func TestExpected(t *testing.T) {
	t.Parallel()
	yes, no := ptr(true), ptr(false)
	tests := []struct {
		mode       string
		vanishes   bool
		privileged *bool
		user       *string
		want       string
	}{
		{mode: "", privileged: yes, user: ptr("root"), want: ExpectNotApplicable},
		{mode: "bridge", user: ptr("0"), want: ExpectNotApplicable},
		{mode: "awsvpc", privileged: yes, want: ExpectNotApplicable},
		{mode: "none", want: ExpectNotApplicable},
		{mode: "host", privileged: yes, want: ExpectFail},
		{mode: "host", privileged: yes, user: ptr("1000"), want: ExpectFail},
		{mode: "host", privileged: no, user: ptr("root"), want: ExpectFail},
		{mode: "host", user: ptr("root:root"), want: ExpectFail},
		{mode: "host", user: ptr("0"), want: ExpectFail},
		{mode: "host", user: ptr("00"), want: ExpectFail},
		{mode: "host", user: ptr("+0"), want: ExpectFail},
		{mode: "host", user: ptr("-0"), want: ExpectFail},
		{mode: "host", user: ptr("0:1000"), want: ExpectFail},
		{mode: "host", user: ptr("1000:0"), want: ExpectPass},
		{mode: "host", user: ptr("1000:root"), want: ExpectPass},
		{mode: "host", want: ExpectPass},
		{mode: "host", privileged: no, want: ExpectPass},
		{mode: "host", user: ptr(""), want: ExpectPass},
		{mode: "host", user: ptr("ROOT"), want: ExpectPass},
		{mode: "host", user: ptr(" root"), want: ExpectPass},
		{mode: "host", user: ptr("root "), want: ExpectPass},
		{mode: "host", user: ptr("+-0"), want: ExpectPass},
		{mode: "host", user: ptr("--0"), want: ExpectPass},
		{mode: "host", user: ptr("+"), want: ExpectPass},
		{mode: "host", user: ptr("01"), want: ExpectPass},
		{mode: "host", user: ptr("0x0"), want: ExpectPass},
		{mode: "host", vanishes: true, user: ptr("root"), want: ExpectError},
		{mode: "bridge", vanishes: true, want: ExpectError},
	}
	for _, tt := range tests {
		user := "unset"
		if tt.user != nil {
			user = "\"" + *tt.user + "\""
		}
		td := TaskDefinition{NetworkMode: tt.mode, Vanishes: tt.vanishes}
		if got := Expected(td, Container{Privileged: tt.privileged, User: tt.user}); got != tt.want {
			t.Errorf("Expected(mode %q, vanishes %v, privileged %v, user %s) = %s, want %s", tt.mode, tt.vanishes, tt.privileged != nil && *tt.privileged, user, got, tt.want)
		}
	}
}
