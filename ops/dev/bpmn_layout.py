#!/usr/bin/env python3
"""Adds a BPMN diagram (BPMNDI: shapes and edges) to a process file that has none, so Cockpit and
Tasklist can draw it. Positions come from `sp:col`/`sp:row` attributes on the flow nodes (removed
from the output); edges are routed orthogonally. Used when a process is written by hand:

    ops/dev/bpmn_layout.py processes/shadow-patching.src.bpmn processes/shadow-patching.bpmn
"""
import sys
import xml.etree.ElementTree as ET

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DDI = "http://www.omg.org/spec/DD/20100524/DI"
SP = "urn:shadowpatch:layout"
for prefix, uri in [("bpmn", BPMN), ("bpmndi", DI), ("dc", DC), ("di", DDI),
                    ("camunda", "http://camunda.org/schema/1.0/bpmn"),
                    ("xsi", "http://www.w3.org/2001/XMLSchema-instance")]:
    ET.register_namespace(prefix, uri)

COL, ROW, X0, Y0 = 160, 140, 100, 120
SIZES = {"task": (110, 80), "event": (36, 36), "gateway": (50, 50)}


def kind(tag):
    local = tag.split("}")[1]
    if local.endswith("Task") or local in ("task", "callActivity"):
        return "task"
    if local.endswith("Event"):
        return "event"
    if local.endswith("Gateway"):
        return "gateway"
    if local == "subProcess":
        return "subProcess"
    return None


def main(src, dst):
    tree = ET.parse(src)
    root = tree.getroot()
    shapes, bounds, flows = [], {}, []
    gateways = {el.get("id") for el in root.iter() if kind(el.tag) == "gateway"}
    for process in root.iter(f"{{{BPMN}}}process"):
        place(process, bounds, shapes, flows, 0, 0)
    diagram = ET.SubElement(root, f"{{{DI}}}BPMNDiagram", id="Diagram_1")
    plane = ET.SubElement(diagram, f"{{{DI}}}BPMNPlane", id="Plane_1",
                          bpmnElement=root.find(f"{{{BPMN}}}process").get("id"))
    for el_id, (x, y, w, h), expanded in shapes:
        attrs = {"id": el_id + "_di", "bpmnElement": el_id}
        if expanded:
            attrs["isExpanded"] = "true"
        shape = ET.SubElement(plane, f"{{{DI}}}BPMNShape", attrs)
        ET.SubElement(shape, f"{{{DC}}}Bounds", x=str(x), y=str(y), width=str(w), height=str(h))
    for flow in flows:
        edge = ET.SubElement(plane, f"{{{DI}}}BPMNEdge", id=flow.get("id") + "_di", bpmnElement=flow.get("id"))
        source = flow.get("sourceRef")
        for (px, py) in route(bounds[source], bounds[flow.get("targetRef")], flow.get(f"{{{SP}}}via"), source in gateways):
            ET.SubElement(edge, f"{{{DDI}}}waypoint", x=str(int(px)), y=str(int(py)))
        flow.attrib.pop(f"{{{SP}}}via", None)
    ET.indent(tree, space="  ")
    tree.write(dst, xml_declaration=True, encoding="UTF-8")


def place(container, bounds, shapes, flows, ox, oy):
    for el in list(container):
        k = kind(el.tag)
        if el.tag == f"{{{BPMN}}}sequenceFlow":
            flows.append(el)
            continue
        if k is None:
            continue
        col, row = float(el.attrib.pop(f"{{{SP}}}col")), float(el.attrib.pop(f"{{{SP}}}row"))
        cx, cy = X0 + ox + col * COL, Y0 + oy + row * ROW
        if k == "subProcess":
            cols, rows = float(el.attrib.pop(f"{{{SP}}}cols")), float(el.attrib.pop(f"{{{SP}}}rows"))
            x, y, w, h = cx - 70, cy - 70, cols * COL + 20, rows * ROW
            bounds[el.get("id")] = (x, y, w, h)
            shapes.append((el.get("id"), (int(x), int(y), int(w), int(h)), True))
            place(el, bounds, shapes, flows, ox + col * COL, oy + row * ROW)
            continue
        w, h = SIZES[k]
        if el.tag == f"{{{BPMN}}}boundaryEvent":
            host = bounds[el.get("attachedToRef")]
            x, y = cx - w / 2, host[1] + host[3] - h / 2
        else:
            x, y = cx - w / 2, cy - h / 2
        bounds[el.get("id")] = (x, y, w, h)
        shapes.append((el.get("id"), (int(x), int(y), int(w), int(h)), False))


def route(s, t, via, from_gateway):
    sx, sy, sw, sh = s
    tx, ty, tw, th = t
    scx, scy, tcx, tcy = sx + sw / 2, sy + sh / 2, tx + tw / 2, ty + th / 2
    if via:  # a loop back: leave below (or above), run along a lane, enter from below (or above)
        lane = float(via)
        sy_edge = sy + sh if lane > scy else sy
        ty_edge = ty + th if lane > tcy else ty
        return [(scx, sy_edge), (scx, lane), (tcx, lane), (tcx, ty_edge)]
    if abs(scy - tcy) < 1:
        return [(sx + sw, scy), (tx, tcy)] if tx >= sx else [(sx, scy), (tx + tw, tcy)]
    if tx >= sx + sw and from_gateway:  # a branch: leave the gateway vertically, then go right
        return [(scx, sy + sh if tcy > scy else sy), (scx, tcy), (tx, tcy)]
    if tx >= sx + sw:  # forward to another row: go right, then enter the target from above or below
        return [(sx + sw, scy), (tcx, scy), (tcx, ty if tcy > scy else ty + th)]
    if tx + tw <= sx:  # backward to another row
        return [(scx, sy + sh if tcy > scy else sy), (scx, tcy), (tx + tw, tcy)]
    return [(scx, sy + sh if tcy > scy else sy), (tcx, ty if tcy > scy else ty + th)]


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
