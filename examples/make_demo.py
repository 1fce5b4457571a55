"""Writes examples/demo.jsonl: short abstracts written for this project, offsets computed.

Run from the repository root: .venv/bin/python examples/make_demo.py
"""

import sys

sys.path.insert(0, ".")
from loaders.files.jsonl import write_jsonl
from tests.helpers import make_doc

docs = [
    make_doc(
        "90000001",
        "Cisplatin nephrotoxicity in children treated for osteosarcoma.",
        "Cisplatin is an effective drug against osteosarcoma but causes nephrotoxicity. "
        "In 42 children, magnesium supplementation reduced the nephrotoxicity of cisplatin. "
        "Loss of function of the transporter SLC22A2 was associated with nephrotoxicity.",
        [
            ("Cisplatin", "Chemical", "D002945"),
            ("cisplatin", "Chemical", "D002945"),
            ("nephrotoxicity", "Disease", "D007674"),
            ("osteosarcoma", "Disease", "D012516"),
            ("children", "Species", "9606"),
            ("magnesium", "Chemical", "D008274"),
            ("SLC22A2", "Gene", "6582"),
        ],
        [
            ("Positive_Correlation", "MESH:D002945", "MESH:D007674"),
            ("Negative_Correlation", "MESH:D002945", "MESH:D012516"),
            ("Negative_Correlation", "MESH:D008274", "MESH:D007674"),
            ("Association", "NCBIGene:6582", "MESH:D007674"),
        ],
        pub_date="2019-05",
    ),
    make_doc(
        "90000002",
        "Magnesium and cisplatin-induced kidney injury.",
        "We reviewed trials of magnesium given with cisplatin. Magnesium lowered the rate of "
        "nephrotoxicity. Hypomagnesemia was common after cisplatin.",
        [
            ("Magnesium", "Chemical", "D008274"),
            ("magnesium", "Chemical", "D008274"),
            ("cisplatin", "Chemical", "D002945"),
            ("kidney injury", "Disease", "D007674"),
            ("nephrotoxicity", "Disease", "D007674"),
            ("Hypomagnesemia", "Disease", "C537153"),
        ],
        [
            ("Negative_Correlation", "MESH:D008274", "MESH:D007674"),
            ("Positive_Correlation", "MESH:D002945", "MESH:D007674"),
            ("Positive_Correlation", "MESH:D002945", "MESH:C537153"),
            ("Cotreatment", "MESH:D008274", "MESH:D002945"),
        ],
        pub_date="2021-02-11",
    ),
    make_doc(
        "90000003",
        "Metformin lowers the risk of colorectal cancer in type 2 diabetes.",
        "In a cohort of 5,000 patients with type 2 diabetes, metformin use was associated with "
        "fewer cases of colorectal cancer. Metformin activates AMPK, encoded by PRKAA1.",
        [
            ("Metformin", "Chemical", "D008687"),
            ("metformin", "Chemical", "D008687"),
            ("colorectal cancer", "Disease", "D015179"),
            ("type 2 diabetes", "Disease", "D003924"),
            ("patients", "Species", "9606"),
            ("AMPK", "Gene", "5562"),
            ("PRKAA1", "Gene", "5562"),
        ],
        [
            ("Negative_Correlation", "MESH:D008687", "MESH:D015179"),
            ("Negative_Correlation", "MESH:D008687", "MESH:D003924"),
            ("Positive_Correlation", "MESH:D008687", "NCBIGene:5562"),
        ],
        pub_date="2022",
    ),
    make_doc(
        "90000004",
        "The BRAF V600E variant and vemurafenib response in melanoma cells.",
        "A375 cells carrying BRAF V600E (rs113488022) were sensitive to vemurafenib, "
        "which binds BRAF. Resistance in melanoma was associated with NRAS activation.",
        [
            ("BRAF", "Gene", "673"),
            ("V600E", "Variant", "rs113488022"),
            ("rs113488022", "Variant", "rs113488022"),
            ("vemurafenib", "Chemical", "C551177"),
            ("melanoma", "Disease", "D008545"),
            ("A375", "CellLine", "CVCL_0132"),
            ("NRAS", "Gene", "4893"),
        ],
        [
            ("Bind", "MESH:C551177", "NCBIGene:673"),
            ("Negative_Correlation", "MESH:C551177", "MESH:D008545"),
            ("Association", "DBSNP:rs113488022", "MESH:D008545"),
            ("Association", "NCBIGene:4893", "MESH:D008545"),
        ],
        pub_date="2023-09-30",
    ),
]
with open("examples/demo.jsonl", "w") as fh:
    write_jsonl(docs, fh)
