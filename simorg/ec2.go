package simorg

import (
	"encoding/xml"
	"fmt"
	"slices"
	"strings"
)

const ec2Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"

type describeRegionsResponse struct {
	XMLName   xml.Name        `xml:"DescribeRegionsResponse"`
	XMLNS     string          `xml:"xmlns,attr"`
	RequestID string          `xml:"requestId"`
	Regions   []ec2RegionInfo `xml:"regionInfo>item"`
}

type ec2RegionInfo struct {
	RegionName     string `xml:"regionName"`
	RegionEndpoint string `xml:"regionEndpoint"`
	OptInStatus    string `xml:"optInStatus"`
}

// ec2 serves DescribeRegions: every region with AllRegions=true, else the
// enabled ones; RegionName.N and the region-name, endpoint and
// opt-in-status filters narrow the list.
func (s *Server) ec2(c *call) {
	f := c.form
	all := strings.EqualFold(f.Get("AllRegions"), "true")
	names := indexed(f, "RegionName")
	filters := map[string][]string{}
	for i := 1; f.Has(fmt.Sprintf("Filter.%d.Name", i)); i++ {
		name := f.Get(fmt.Sprintf("Filter.%d.Name", i))
		switch name {
		case "region-name", "endpoint", "opt-in-status":
		default:
			s.fail(c, &apiError{status: 400, code: "InvalidParameterValue", message: fmt.Sprintf("The filter '%s' is invalid", name)})
			return
		}
		filters[name] = append(filters[name], indexed(f, fmt.Sprintf("Filter.%d.Value", i))...)
	}
	o := s.org
	ai := o.acctIdx[c.who.account]
	for _, n := range names {
		if _, ok := o.regionIdx[n]; !ok {
			s.fail(c, &apiError{status: 400, code: "InvalidParameterValue", message: fmt.Sprintf("Invalid region: %s", n)})
			return
		}
	}
	out := describeRegionsResponse{XMLNS: ec2Namespace, RequestID: c.id, Regions: []ec2RegionInfo{}}
	for ri, r := range o.regions {
		info := ec2RegionInfo{RegionName: r.Name, RegionEndpoint: ec2Endpoint(o.partition, r.Name), OptInStatus: o.regionStatus(ai, ri)}
		switch {
		case !all && len(names) == 0 && info.OptInStatus == NotOptedIn,
			len(names) > 0 && !slices.Contains(names, r.Name),
			!matches(filters["region-name"], info.RegionName),
			!matches(filters["endpoint"], info.RegionEndpoint),
			!matches(filters["opt-in-status"], info.OptInStatus):
			continue
		}
		out.Regions = append(out.Regions, info)
	}
	writeXML(c, &out)
}

func matches(values []string, v string) bool {
	return len(values) == 0 || slices.Contains(values, v)
}

// indexed returns the values of the flattened list prefix.1, prefix.2, ….
func indexed(f map[string][]string, prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := f[fmt.Sprintf("%s.%d", prefix, i)]
		if !ok || len(v) == 0 {
			return out
		}
		out = append(out, v[0])
	}
}

func ec2Endpoint(partition, region string) string {
	if partition == "aws-cn" {
		return "ec2." + region + ".amazonaws.com.cn"
	}
	return "ec2." + region + ".amazonaws.com"
}
