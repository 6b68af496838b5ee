"""Per topic of a symptom triage: the questions a clinician would ask and the signs to watch for.

Part of domains.triage (its reply's last two sections), from the same NHS guidance as its rules.
"""
from __future__ import annotations

TOPICS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "chest": ((
        "When did it start, and is it constant or does it come and go?",
        "What does it feel like: pressure, tightness, burning, sharp or stabbing?",
        "Does it spread to your arm, jaw, neck or back?",
        "Are you short of breath, sweating, sick or dizzy?",
        "Does it come on with effort and ease with rest, or change when you breathe or press on it?",
        "Any heart disease, high blood pressure, diabetes, high cholesterol, smoking, or heart disease in "
        "the family?",
        "Any recent long journey, operation, or a swollen, painful leg?"), (
        "Pain that becomes crushing, tight or heavy, or lasts more than 15 minutes.",
        "Breathlessness, sweating, nausea, fainting or a grey, clammy look.",
        "Pain spreading to the arm, jaw, neck or back.")),
    "stroke": ((
        "When was the person last seen well, to the minute?", "Which side of the body is affected?",
        "Any earlier episodes that passed, or atrial fibrillation, high blood pressure or diabetes?"), (
        "Any new weakness, numbness, face droop, speech or vision trouble, even if it passes.",)),
    "breathing": ((
        "How long has breathing been a problem, and is it worse lying flat or on effort?",
        "Any wheeze, cough, phlegm, fever or chest pain?", "Any asthma, COPD or heart condition?"), (
        "Breathlessness at rest, being unable to finish a sentence, or blue lips.",
        "A cough lasting three weeks or more, or coughing blood.")),
    "fever": ((
        "What was the highest temperature, and how was it measured?", "How long has the fever lasted?",
        "Any rash, stiff neck, dislike of bright light, drowsiness, or pain passing urine?",
        "For a child: age, feeding, wet nappies, and how alert they are?"), (
        "A rash that does not fade under a pressed glass, a stiff neck, or confusion.",
        "A fever of 40 C (104 F) or more, or one lasting more than five days.",
        "A baby under three months with any fever.")),
    "head": ((
        "Where is the pain, and how fast did it reach its worst?",
        "Any injury, fever, stiff neck, vomiting, vision change or weakness?",
        "Is this different from your usual headaches?"), (
        "A sudden, severe headache; headache with fever and stiff neck; confusion or drowsiness.",)),
    "abdomen": ((
        "Where exactly is the pain, and has it moved?",
        "Any vomiting, diarrhoea, fever, blood or black stools?",
        "When did you last eat, pass urine and open your bowels?", "Could you be pregnant?"), (
        "Severe or worsening pain, a rigid belly, vomiting blood, black stools, or no urine for 8 hours.",)),
    "injury": ((
        "How did it happen, and when?", "Can you move it and bear weight?",
        "Any numbness, tingling or a cold, pale limb?"), (
        "Numbness, a cold or pale limb, bleeding that will not stop, or a visible deformity.",)),
    "poisoning": ((
        "What was taken, how much and when?", "Was it on purpose or an accident?",
        "Any drowsiness, vomiting, burns around the mouth or breathing trouble?"), (
        "Drowsiness, fits, breathing trouble, or burns in the mouth.",)),
    "allergy": ((
        "What might have caused it, and when?",
        "Any swelling of lips, tongue or throat, wheeze or dizziness?",
        "Any earlier severe reactions or a prescribed auto-injector?"), (
        "Swelling of the lips, tongue or throat, wheeze, or feeling faint.",)),
    "urinary": ((
        "How long, and any fever, back or side pain, blood in urine or discharge?",
        "Could you be pregnant?"), (
        "Fever, shivering, back or side pain, or blood in the urine.",)),
    "skin": ((
        "When did it appear, and is it spreading?", "Does it fade when a glass is pressed on it?",
        "Any fever, new medicines, foods or products?"), (
        "A rash that does not fade under a pressed glass, spreading redness, or fever.",)),
    "mental health": ((
        "How long have you felt this way, and how is it affecting sleep, eating and work?",
        "Any thoughts of harming yourself, now or before?", "Who can you talk to?"), (
        "Thoughts of suicide or self-harm: use the crisis lines at once.",)),
    "heart": ((
        "Does it happen at rest or on effort, and how long does it last?",
        "Any chest pain, breathlessness or fainting with it?"), (
        "Chest pain, fainting or breathlessness with it.",)),
    "eye": (("What happened, and is your vision affected?",), (
        "Loss of vision, or worsening pain or redness.",)),
    "fluids": (("How much have you drunk and passed in the last day?",), (
        "No urine for 8 hours, confusion, or a very fast heartbeat.",)),
    "pregnancy": ((
        "How many weeks pregnant are you?",
        "Any bleeding, pain, fluid loss or change in the baby's movements?"), (
        "Bleeding, severe pain, fluid loss, headache with vision change, or fewer movements.",)),
    "general": (("What are the symptoms, where, since when, and how bad from 0 to 10?",), ()),
}
"""For each topic: questions a clinician would ask, and what to watch for."""
