"""The AWS layer: boto3 collectors that return tidy pandas frames.

Knows boto3 and AWS and nothing of Streamlit. One module per AWS service:
``functions`` (Lambda inventory), ``tags`` (Resource Groups Tagging API),
``metrics`` (CloudWatch, incl. Lambda Insights), ``logs`` (CloudWatch Logs:
REPORT lines), ``costs`` (Cost Explorer). ``session`` builds clients, ``errors``
holds the typed errors, ``answers`` refuses answers that are not AWS's (an HTML
page, a cut-short body), ``meter`` counts every request, ``cache`` keeps answers,
``sim`` is the simulated account.
"""
