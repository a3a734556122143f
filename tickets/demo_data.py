"""The words of the demo help desk (``tickets/demo.py``): people, products and conversations.

The demo company is Trailhead Outfitters, an outdoor gear shop at demo.example. Every
domain ends in .example (RFC 2606) and phone numbers are from the UK's drama range, so
nothing here reaches a real person. Conversation texts are ``str.format`` templates; the
fields they may use are listed in ``PLACEHOLDERS``.
"""

from __future__ import annotations

from dataclasses import dataclass

DOMAIN = "demo.example"
# The span the demo covers: tickets from the last HISTORY_DAYS, a few more in a busy last
# RECENT_DAYS that also holds the open queue. Agents, contacts and responses are older.
HISTORY_DAYS = 90
RECENT_DAYS = 14

# Fields a conversation text may use, filled per ticket by tickets.demo_conversations.
PLACEHOLDERS = (
    "first",  # the customer's first name
    "name",  # the customer's full name
    "company",  # the customer's company (only in scenarios with needs_company)
    "agent",  # first name of the agent who wrote last
    "order",
    "order_date",
    "invoice",
    "rma",
    "quote",
    "tracking",
    "product",
    "product2",
    "qty",
    "amount",
    "size",
    "size2",
)

FIRST_NAMES = (
    "Olivia", "Liam", "Amelia", "Noah", "Isla", "Oliver", "Ava", "George", "Mia", "Arthur",
    "Freya", "Leo", "Grace", "Harry", "Zoë", "Oscar", "Ruby", "Theo", "Chloé", "Jack",
    "Sofia", "Finn", "Hannah", "Jonas", "Emma", "Lukas", "Léa", "Mateo", "Aisha", "Omar",
    "Priya", "Arjun", "Mei", "Kenji", "Ingrid", "Søren", "Niamh", "Cian", "Fatima", "Yusuf",
    "Elena", "Marco", "Julia", "Tomás", "Ewa", "Piotr", "Sarah", "David", "Rachel", "Ben",
    "Laura", "Daniel", "Katie", "Sam", "Megan", "Rhys", "Eilidh", "Callum", "Anya", "Felix",
)  # fmt: skip

LAST_NAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas", "Roberts",
    "Walker", "Wright", "Robinson", "Thompson", "White", "Hughes", "Edwards", "Green", "Hall",
    "Wood", "Harris", "Clarke", "Patel", "Khan", "Murphy", "O'Brien", "Kelly", "Campbell",
    "MacDonald", "Fraser", "Müller", "Schmidt", "Novak", "Kowalski", "Rossi", "Bianchi",
    "García", "Fernández", "Dubois", "Lefèvre", "Jansen", "de Vries", "Larsen", "Nielsen",
    "Lindqvist", "Tanaka", "Chen", "Nguyen", "Okafor", "Mensah", "Haddad", "Silva", "Costa",
)  # fmt: skip

# Customers' organisations: (name, mail domain, membership plan).
COMPANIES = (
    ("Fellside Walking Club", "fellsidewalkers.example", "Club"),
    ("1st Kendal Scout Group", "kendalscouts.example", "Club"),
    ("Northgate Academy", "northgate-academy.example", "Club"),
    ("Peak Trail Runners", "peaktrailrunners.example", "Club"),
    ("Harbour Outdoor Centre", "harbouroutdoor.example", "Club"),
    ("Summit & Co. Outdoor Shop", "summitandco.example", "Wholesale"),
    ("Riverside Rowing Club", "riversiderowing.example", "Club"),
    ("Brightwater Events Ltd", "brightwater-events.example", "Plus"),
    ("Highland Adventure Tours", "highlandadventures.example", "Wholesale"),
    ("Greenway Cycling Club", "greenwaycc.example", "Club"),
)

PERSONAL_DOMAINS = (
    "mail.example",
    "inbox.example",
    "post.example",
    "webmail.example",
    "homemail.example",
)

PLANS = ("Basic", "Plus", "Club", "Wholesale")

PRODUCTS = (
    "Ridgeline 3L waterproof jacket",
    "Cairn 45 rucksack",
    "Scree mid walking boots",
    "Tarn merino base layer",
    "Bothy down jacket",
    "Corrie 2 tent",
    "Ghyll trail running shoes",
    "Fellpack 28 daypack",
    "Stormshell overtrousers",
    "Nightjar -5 sleeping bag",
    "Cirrus fleece",
    "Pike trekking poles",
)

SIZES = ("XS", "S", "M", "L", "XL", "XXL")

CONTACT_NOTES = (
    "Prefers a phone call after 17:00 for anything urgent.",
    "Long-standing customer; very happy with the club programme.",
    "Had two delivery problems last year - please double-check addresses.",
    "Asked not to receive marketing mail.",
    "Orders for the whole club every spring, usually in March.",
)

# Senders whose mail ends up in the trash: (name, address).
SPAM_SENDERS = (
    ("Rank Boosters", "growth@rankboosters.example"),
    ("Account Security Team", "security-alert@acc0unt-verify.example"),
    ("Mr. Daniel Osei", "d.osei.office@webmail.example"),
    ("Global Supplies Ltd", "sales@globalsupplies-deals.example"),
)


@dataclass(frozen=True)
class Scenario:
    """One kind of conversation: the customer's opening, our reply, maybe another round.

    ``exchanges`` pairs a customer follow-up with the agent's answer to it.
    """

    ticketbox: str
    subjects: tuple[str, ...]
    openings: tuple[str, ...]
    replies: tuple[str, ...]
    exchanges: tuple[tuple[str, str], ...] = ()
    weight: int = 1
    urgent: bool = False  # tends to get a high priority
    needs_company: bool = False  # written by someone on behalf of an organisation
    spam: bool = False  # one unsolicited mail, moved to the trash


SCENARIOS = (
    # ---- Support ------------------------------------------------------------------------------
    Scenario(
        ticketbox="Support",
        weight=5,
        subjects=(
            "Where is my order {order}?",
            "Order {order} hasn't arrived",
            "Still waiting for my delivery",
            "Delivery status for order {order}",
        ),
        openings=(
            "I ordered a {product} on {order_date} (order {order}) and it still hasn't arrived. "
            "The tracking page hasn't changed for four days. Could you check what is going on?",
            "My order {order} was supposed to arrive last Friday but nothing has turned up yet. "
            "I need the {product} for a trip next weekend, so I'd be grateful for an update.",
            "Could you tell me where my parcel is? Order number {order}. The confirmation email "
            "said 3-5 working days and it has been over a week now.",
        ),
        replies=(
            "Thanks for getting in touch. I checked order {order}: it left our warehouse on "
            "{order_date} and the carrier shows it at their regional depot. Deliveries in your "
            "area are running about two days late this week.\n\nYour tracking number is "
            "{tracking}; the parcel should be with you within two working days. If it hasn't "
            "arrived by then, just reply to this email and I'll send a replacement straight away.",
            "Sorry for the wait. Order {order} was split into two parcels because the {product} "
            "shipped from our second warehouse. The first parcel was delivered on {order_date}; "
            "the second one is on its way with tracking number {tracking}.\n\nYou should have "
            "everything by the end of the week.",
        ),
        exchanges=(
            (
                "Thanks. The tracking still shows the same status as yesterday though. "
                "Is there anything else you can do?",
                "I've spoken to the carrier: the parcel was mis-sorted and is now back on the "
                "van. It is booked for delivery tomorrow before 18:00.",
            ),
            (
                "Nothing has arrived yet and the trip is on Saturday. Could you send a "
                "replacement by express delivery?",
                "I've opened an investigation with the carrier and, to be safe, sent a "
                "replacement {product} by express delivery at no cost. The new tracking number "
                "is {tracking}. If the original parcel turns up, you can simply refuse it.",
            ),
        ),
    ),
    Scenario(
        ticketbox="Support",
        weight=2,
        urgent=True,
        subjects=(
            "Damaged {product} on arrival",
            "Item arrived broken - order {order}",
            "Faulty {product}",
        ),
        openings=(
            "The {product} from order {order} arrived today with a tear along a seam, and the "
            "box was crushed. I can send photos if that helps. What do I do now?",
            "I unpacked my {product} this morning and one of the buckles is snapped off. "
            "Order {order}. Can you send a replacement?",
        ),
        replies=(
            "I'm sorry the {product} arrived damaged. I've arranged a replacement, which goes "
            "out today with tracking number {tracking}. There's no need to send the damaged one "
            "back.\n\nIf you could reply with a photo of the damage, it helps us with our claim "
            "against the carrier.",
            "Sorry about that! A replacement {product} is on its way (tracking {tracking}). "
            "You'll get a prepaid return label for the faulty one by separate email; please use "
            "it within 30 days.",
        ),
        exchanges=(
            (
                "Thanks for the quick reply. Here's a photo of the damage. Will the replacement "
                "arrive before the weekend?",
                "Thanks for the photo. Yes - it's scheduled for delivery on Thursday.",
            ),
            (
                "The replacement arrived but it's a size {size} instead of {size2}. "
                "Could you swap it?",
                "Apologies for the mix-up. A {product} in size {size2} goes out today; please "
                "send the wrong one back with the prepaid label in the parcel.",
            ),
        ),
    ),
    Scenario(
        ticketbox="Support",
        weight=3,
        subjects=(
            "Return request for order {order}",
            "How do I return my {product}?",
            "Returning an item",
            "Exchange for a different size",
        ),
        openings=(
            "I'd like to return the {product} from order {order}. It doesn't fit - I need a "
            "size {size2} instead of {size}. How does this work?",
            "The {product} I bought is not quite what I expected and I'd like a refund. "
            "Order {order}, delivered on {order_date}.",
        ),
        replies=(
            "No problem. I've created return {rma} for you; the prepaid return label follows in "
            "a separate email. Pack the {product} in its original packaging if you still have "
            "it and drop it at any post office.\n\nAs soon as it reaches our warehouse we'll "
            "send the size {size2} out (or refund you if you prefer - just let me know).",
            "Of course. Your return number is {rma}. You can print the free label from your "
            "account under Orders > Returns. Refunds go back to the original payment method "
            "within 5 working days of the item arriving here.",
        ),
        exchanges=(
            (
                "Thanks. I've dropped it off at the post office today. Can you let me know when "
                "you receive it?",
                "The parcel reached us this morning and the exchange has been sent out with "
                "tracking number {tracking}.",
            ),
            (
                "I can't find the label in my account. Could you email it to me instead?",
                "I've resent the label to this address. It's valid for 30 days.",
            ),
        ),
    ),
    Scenario(
        ticketbox="Support",
        weight=2,
        subjects=(
            "How do I re-waterproof my {product}?",
            "Washing my {product}",
            "Care question",
        ),
        openings=(
            "I've had my {product} for two seasons and water is starting to soak through on the "
            "shoulders. Is there a way to re-proof it, or is it time for a new one?",
            "Can I put my {product} in the washing machine? The label is worn and I don't want "
            "to ruin it.",
        ),
        replies=(
            "Good question! Wash it on a 30 degree synthetic cycle with a technical wash (no "
            "fabric softener), then apply a spray-on reproofer while it's still damp and tumble "
            "dry on low for 20 minutes. The heat reactivates the water-repellent finish, which "
            "usually brings it back to new.",
            "Yes, on a gentle 30 degree cycle with a mild detergent, zips closed and Velcro "
            "fastened. Skip the fabric softener and let it air dry. Our full care guide is at "
            "https://demo.example/care.",
        ),
        exchanges=(
            (
                "Thanks, I tried that but it's still letting water through around the seams. "
                "Is that covered by the warranty?",
                "Seam tape failing within three years is covered. I've opened warranty case "
                "{rma}; please send it back with the prepaid label and we'll repair or replace it.",
            ),
            (
                "Great, that worked. One more question: do you sell the reproofing spray?",
                "We do - the Trailhead Reproof Spray (300 ml) is £9.50 and in stock. I've added "
                "a 10% code to your account: CARE10.",
            ),
        ),
    ),
    Scenario(
        ticketbox="Support",
        subjects=(
            "Can't log in to my account",
            "Password reset email never arrives",
            "Account locked",
        ),
        openings=(
            "I've tried to reset my password three times but the email never arrives. I've "
            "checked the spam folder too. My account is under this address.",
            "When I log in it says my account is locked. I only typed the wrong password twice, "
            "I think.",
        ),
        replies=(
            "Thanks for letting us know. Our password reset emails were delayed by a problem at "
            "our mail provider this morning; it's fixed now. I've sent you a fresh reset link, "
            "valid for one hour.",
            "I've unlocked your account. The lock kicks in after five failed attempts in a row, "
            "so perhaps a saved password was tried in the background. You can log in again now.",
        ),
        exchanges=(
            (
                "Got it now, but the link says it has expired. Could you send another?",
                "I've sent a new link just now. Please use it within the hour and let me know "
                "if there's still a problem.",
            ),
            (
                "Still locked, I'm afraid. Same message as before.",
                "I've cleared the lock again and reset the failed-attempt counter by hand. "
                "Please try once more - if it fails, I'll call you to sort it out.",
            ),
        ),
    ),
    Scenario(
        ticketbox="Support",
        subjects=(
            "Change delivery address for order {order}",
            "Wrong address on my order",
        ),
        openings=(
            "I just placed order {order} and realised it's going to my old address. Can you "
            "change it before it ships? The new address is 14 Mill Lane, Kendal LA9 4QT.",
            "I've moved house. Could you update the delivery address on order {order}? "
            "New address: Flat 3, 27 Harbour Street, Whitby YO21 3PU.",
        ),
        replies=(
            "Caught it in time - the order hadn't been picked yet, so I've updated the delivery "
            "address. You'll get a new confirmation email shortly.",
            "Unfortunately order {order} had already left the warehouse, but I've asked the "
            "carrier to redirect it to your new address. This can add a day to the delivery.",
        ),
        exchanges=(
            (
                "Thanks! Could you also update the address on my account so this doesn't happen "
                "again?",
                "Done - your account now has the new address as the default for deliveries and "
                "invoices.",
            ),
        ),
    ),
    Scenario(
        ticketbox="Support",
        urgent=True,
        subjects=("Warranty claim: {product}", "{product} broke after three months"),
        openings=(
            "The hip belt on my {product} came apart after about three months of normal use. "
            "I bought it from you (order {order}). Is this covered by the warranty?",
            "The zip on my {product} has split and won't close any more. It's less than a "
            "year old (order {order}). Can it be repaired?",
        ),
        replies=(
            "I'm sorry to hear that - that's not normal wear, and it is covered by our two-year "
            "warranty. I've opened warranty case {rma}; please send the {product} back with the "
            "prepaid label that's on its way by email, and we'll repair or replace it within "
            "10 working days.",
        ),
        exchanges=(
            (
                "Sent it off today. Is a replacement possible instead of a repair? I have a trip "
                "in two weeks.",
                "Yes - given the timing I've arranged a replacement instead. It ships tomorrow "
                "with tracking number {tracking}.",
            ),
        ),
    ),
    # ---- Sales --------------------------------------------------------------------------------
    Scenario(
        ticketbox="Sales",
        weight=3,
        needs_company=True,
        subjects=(
            "Quote for {qty} {product}",
            "Team order enquiry - {company}",
            "Bulk order pricing",
        ),
        openings=(
            "We're kitting out {company} for the summer season and are looking at {qty} x "
            "{product} in mixed sizes. Could you send us a quote, including delivery to one "
            "address?",
            "Do you offer discounts for larger orders? We'd need around {qty} x {product} with "
            "our logo embroidered on the chest, for {company}.",
        ),
        replies=(
            "Thanks for thinking of us! Here is our quote {quote}:\n\n  {qty} x {product}, "
            "mixed sizes: {amount} each (club price, 15% off)\n  Delivery to one UK address: "
            "free\n  Lead time: 2-3 weeks\n\nThe quote is valid for 30 days.",
            "We can certainly do that. Logo embroidery is £4.50 per item plus a one-off set-up "
            "fee of £35; with the volume discount that comes to {amount} per item including "
            "embroidery (quote {quote}). Could you send us the logo as a vector file (SVG, EPS "
            "or PDF)?",
        ),
        exchanges=(
            (
                "That sounds good. Could the first half of the order be delivered before the 15th?",
                "Yes - if we have your confirmation by Friday we can deliver the first half by "
                "the 12th and the rest a week later.",
            ),
            (
                "Here's our logo. Could you send a mock-up before we confirm?",
                "Of course - our designer will send a mock-up within two working days. Once "
                "you approve it, we'll start production.",
            ),
        ),
    ),
    Scenario(
        ticketbox="Sales",
        weight=2,
        subjects=(
            "When will the {product} be back in stock?",
            "{product} in size {size}?",
            "Availability of {product}",
        ),
        openings=(
            "The {product} has been out of stock in size {size} for a while. Do you know when "
            "it will be back?",
            "Is the {product} available in size {size}? The website only lets me pre-order.",
        ),
        replies=(
            "The next delivery of the {product} is due in two to three weeks. I've put your "
            "name on the waiting list, so you'll get an email the moment it's back in size "
            "{size}.",
            "Size {size} is sold out in the current colour, but we have it in graphite and "
            "olive right now. Would either of those work for you?",
        ),
        exchanges=(
            (
                "Is it possible to reserve one for me when it arrives?",
                "Yes - I've reserved one in size {size} under your name. We'll hold it for five "
                "days after it arrives.",
            ),
            (
                "Graphite would be fine. Can you send me a link?",
                "Here you go: https://demo.example/shop/graphite - the price is the same, "
                "{amount}.",
            ),
        ),
    ),
    Scenario(
        ticketbox="Sales",
        needs_company=True,
        subjects=("Discount for schools and clubs", "Do you offer a club discount?"),
        openings=(
            "I look after equipment at {company}. Do you offer discounts for organisations "
            "like ours? We buy waterproofs and rucksacks every year.",
        ),
        replies=(
            "We do: registered schools, scout groups and sports clubs get 15% off all orders, "
            "and 20% on orders over £1,500. If you reply with your organisation's details, I'll "
            "set up a club account with invoicing on 30-day terms.",
        ),
        exchanges=(
            (
                "Great. Our details: {company}, contact person {name}. Please go ahead with the "
                "account.",
                "Your club account is ready and linked to this email address. The discount "
                "applies automatically when you log in.",
            ),
        ),
    ),
    Scenario(
        ticketbox="Sales",
        needs_company=True,
        subjects=("Wholesale enquiry", "Stocking your products", "Reseller terms"),
        openings=(
            "We run {company} and would like to stock some of your range, mainly the {product} "
            "and the {product2}. Could you send your wholesale terms and minimum order "
            "quantities?",
        ),
        replies=(
            "Thanks for your interest! Our wholesale price list and terms are on their way by "
            "separate email. The minimum first order is £750, repeat orders £300, and we offer "
            "30-day payment terms after the first order. I'd be happy to arrange a call to go "
            "through the range.",
        ),
        exchanges=(
            (
                "Thanks. Could we do a call on Tuesday afternoon?",
                "Tuesday at 14:00 works for me - I'll call you on the number in your signature. "
                "Speak then!",
            ),
        ),
    ),
    Scenario(
        ticketbox="Sales",
        weight=2,
        subjects=(
            "Which {product} should I choose?",
            "Advice: {product} or {product2}?",
            "Question before I order",
        ),
        openings=(
            "I'm planning a week of hut-to-hut hiking in the Alps in August. Would you "
            "recommend the {product} or the {product2}? I usually carry about 9 kg.",
            "Before I order: is the {product} suitable for winter camping, or would I need "
            "something warmer?",
        ),
        replies=(
            "For a hut-to-hut trip with around 9 kg, I'd go for the {product}: it's lighter and "
            "comfortable on long days. The {product2} suits heavier loads and camping better."
            "\n\nIf you order both, you can return the one you don't keep for free within 30 days.",
            "The {product} is comfortable down to about -2 degrees. For proper winter camping "
            "I'd pair it with a liner, or choose the {product2}, which is rated lower.",
        ),
        exchanges=(
            (
                "Thanks, that's really helpful. Do you ship to Switzerland?",
                "We do - delivery to Switzerland takes 4-6 working days and costs £12.50. Import "
                "duties are included at checkout, so there's nothing extra to pay on delivery.",
            ),
        ),
    ),
    Scenario(
        ticketbox="Sales",
        subjects=("Gift cards", "Buying a gift voucher"),
        openings=(
            "Do you sell gift cards? I'd like to buy one for my brother's birthday, ideally "
            "something I can print.",
        ),
        replies=(
            "Yes! Gift cards from £10 to £500 are available at https://demo.example/gift. You "
            "can choose email delivery, or print it yourself as a PDF. They're valid for two "
            "years.",
        ),
        exchanges=(
            (
                "Can the gift card be used in your York store as well?",
                "It can - gift cards work online and in all our stores.",
            ),
        ),
    ),
    # ---- Billing ------------------------------------------------------------------------------
    Scenario(
        ticketbox="Billing",
        weight=3,
        subjects=(
            "Copy of invoice for order {order}",
            "Invoice needed",
            "VAT invoice please",
        ),
        openings=(
            "Could you send me a VAT invoice for order {order}? I need it for an expense claim.",
            "Our accounts department needs the invoice for order {order} made out to our "
            "company rather than to me personally. Is that possible?",
        ),
        replies=(
            "Of course - you can download invoice {invoice} for order {order} from your account "
            "under Orders > Invoices, and I've emailed a PDF copy separately.",
            "I've reissued the invoice in your company's name as {invoice}. The original has "
            "been cancelled, so please use the new one for your records.",
        ),
        exchanges=(
            (
                "Thanks. Could you add our VAT number, GB 987 6543 21, to it?",
                "Done - invoice {invoice} now shows your VAT number. The updated PDF is in your "
                "account.",
            ),
        ),
    ),
    Scenario(
        ticketbox="Billing",
        weight=2,
        urgent=True,
        subjects=(
            "Charged twice for order {order}",
            "Double payment on my card",
            "Duplicate charge",
        ),
        openings=(
            "I've just checked my bank statement and I've been charged {amount} twice for order "
            "{order}. Please refund the duplicate payment.",
            "My card was charged twice for the same order ({order}). I only received one "
            "confirmation email.",
        ),
        replies=(
            "I'm sorry about this. I can see two authorisations of {amount} on order {order}, "
            "but only one was captured; the second is a pending hold that your bank releases "
            "automatically within 3-5 working days. No money has actually been taken twice.",
            "You're right - the payment went through twice after a timeout at checkout. I've "
            "refunded the duplicate {amount} today. It usually shows on your statement within "
            "5 working days.",
        ),
        exchanges=(
            (
                "It's been a week and the second charge is still showing. Can you check again?",
                "I've asked our payment provider to release the hold manually. They've confirmed "
                "it will disappear from your statement within 48 hours.",
            ),
        ),
    ),
    Scenario(
        ticketbox="Billing",
        weight=2,
        subjects=(
            "Refund for return {rma} not received",
            "Where is my refund?",
            "Refund status",
        ),
        openings=(
            "I returned the {product} two weeks ago (return {rma}) and still haven't had my "
            "refund. Can you check?",
            "Could you tell me when I'll get my money back for the {product}? It went back "
            "to you on {order_date}.",
        ),
        replies=(
            "Your return {rma} arrived at our warehouse and the refund of {amount} was issued "
            "yesterday. Depending on your bank it takes 3-5 working days to show up.",
            "Thanks for your patience. The parcel was delayed at our returns centre; it's been "
            "processed now and {amount} has been refunded to your original payment method.",
        ),
        exchanges=(
            (
                "I paid with a gift card - will the money go back onto the card?",
                "Yes, the amount goes back onto the same gift card, which stays valid for two "
                "years from the date it was bought.",
            ),
        ),
    ),
    Scenario(
        ticketbox="Billing",
        subjects=("Payment declined", "Card declined at checkout"),
        openings=(
            "I keep getting 'payment declined' at checkout although my card works everywhere "
            "else. Is there a problem on your side?",
        ),
        replies=(
            "Declines like this usually come from the bank's 3-D Secure check rather than from "
            "us. Could you try again and watch for an approval request in your banking app? If "
            "it still fails, I can send you a payment link instead.",
        ),
        exchanges=(
            (
                "Still declined. A payment link would be great.",
                "Here's your secure payment link for {amount}: https://demo.example/pay/{order}. "
                "It's valid for 7 days.",
            ),
        ),
    ),
    Scenario(
        ticketbox="Billing",
        needs_company=True,
        subjects=("Payment terms for our account", "Can we pay by bank transfer?"),
        openings=(
            "We'd like to pay our orders by bank transfer against invoice rather than by card. "
            "Is that possible for {company}?",
        ),
        replies=(
            "Yes, for business accounts we offer payment by bank transfer on 30-day terms after "
            "a short credit check. I've sent the application form separately; once it's "
            "approved, you can choose 'Pay by invoice' at checkout.",
        ),
        exchanges=(
            (
                "Form returned - thanks! How long does approval usually take?",
                "Usually two working days. I'll let you know as soon as it's through.",
            ),
        ),
    ),
    Scenario(
        ticketbox="Billing",
        needs_company=True,
        subjects=("Payment reminder for invoice {invoice}", "Reminder received in error?"),
        openings=(
            "{company} received a payment reminder for invoice {invoice}, but we paid it by "
            "bank transfer on {order_date}. Could you check?",
        ),
        replies=(
            "Thanks for flagging this - the payment arrived without the invoice number as "
            "reference, so it wasn't matched automatically. I've allocated it to invoice "
            "{invoice} now, so please ignore the reminder.",
        ),
        exchanges=(
            (
                "Thanks. Could you send us a statement of account for our records?",
                "Of course - the statement for {company} is on its way by email and shows a zero "
                "balance.",
            ),
        ),
    ),
    # ---- Unassigned: mail no rule recognised ---------------------------------------------------
    Scenario(
        ticketbox="Unassigned",
        weight=2,
        subjects=("Opening hours", "Do you have a shop in Leeds?", "Question"),
        openings=(
            "Do you have a physical shop where I can try on boots before buying? I live near "
            "Leeds.",
        ),
        replies=(
            "We have stores in Manchester, York and Edinburgh - York is probably the closest for "
            "you. Addresses and opening hours are at https://demo.example/stores. You're also "
            "welcome to order several sizes online and return the ones that don't fit for free.",
        ),
        exchanges=(("Is the York store open on Sundays?", "Yes, from 10:00 to 16:00 on Sundays."),),
    ),
    Scenario(
        ticketbox="Unassigned",
        subjects=("Thank you!", "Great service", "Feedback on my last order"),
        openings=(
            "Just wanted to say thank you - the {product} arrived a day early and it's "
            "brilliant. Used it all weekend in the Lake District.",
        ),
        replies=(
            "Thank you so much for taking the time to write! I've passed your message on to the "
            "team - it made their day. Enjoy the hills!",
        ),
    ),
    Scenario(
        ticketbox="Unassigned",
        subjects=("Press enquiry - autumn gear guide", "Product samples for review"),
        openings=(
            "I'm writing the autumn gear guide for a hiking magazine and would love to include "
            "the {product}. Could you send product details and images, and is there a sample "
            "we could test?",
        ),
        replies=(
            "Thanks for thinking of us! I've forwarded your request to our marketing team "
            "(press@demo.example), who handle samples and images. They'll be in touch within a "
            "couple of days.",
        ),
        exchanges=(
            (
                "Thanks - our deadline is the 20th, just so you know.",
                "Noted. I've flagged the deadline to marketing and they've promised to reply by "
                "Friday.",
            ),
        ),
    ),
    Scenario(
        ticketbox="Unassigned",
        subjects=("Summer job in your York store?", "Job application"),
        openings=(
            "I'd like to apply for a summer job in one of your stores. Who should I send my CV to?",
        ),
        replies=(
            "Thanks for your interest in working with us! Current vacancies are listed at "
            "https://demo.example/jobs and applications go to jobs@demo.example. Good luck!",
        ),
    ),
    # ---- Spam: lands in Unassigned and goes to the trash ---------------------------------------
    Scenario(
        ticketbox="Unassigned",
        weight=2,
        spam=True,
        subjects=(
            "Boost your website traffic by 300%",
            "Your account will be suspended",
            "Business proposal - strictly confidential",
            "Wholesale face masks, best price, ready stock",
        ),
        openings=(
            "Dear Sir/Madam,\n\nWe noticed your website is not on the first page of search "
            "results. Our experts guarantee top rankings in 30 days or your money back.\n\nReply "
            "YES for a free audit.",
            "Your mailbox has exceeded its storage limit and will be suspended within 24 hours. "
            "Click here to verify your account and keep receiving messages.",
            "Good day,\n\nI am contacting you about a confidential business opportunity worth "
            "USD 4,500,000. Kindly reply with your full name and direct phone number.",
        ),
        replies=(),
    ),
)

# The customer's last word when the matter is settled.
THANKS = (
    "Perfect, thank you for your help!",
    "Thanks {agent}, that's sorted then.",
    "Great, thanks for the quick response.",
    "That's all I needed - thanks again.",
    "Received, many thanks.",
    "Brilliant, thank you!",
)

CUSTOMER_GREETINGS = (
    "Hello,",
    "Hi,",
    "Hi there,",
    "Good morning,",
    "Dear Trailhead team,",
    "Hello Trailhead Outfitters,",
)
CUSTOMER_SIGNOFFS = ("Thanks,", "Thank you,", "Best regards,", "Kind regards,", "Cheers,")
AGENT_GREETINGS = ("Hi {first},", "Hello {first},", "Dear {name},")
AGENT_CLOSINGS = ("Best regards,", "Kind regards,", "All the best,", "Thanks again,")

# Internal notes agents leave on tickets: for any ticket, and by ticketbox.
NOTES = (
    "Customer also phoned about this; told them we'd reply by email today.",
    "Customer prefers a phone call after 17:00.",
    "Second mail from this customer about the same thing - answered here.",
)
NOTES_BY_TICKETBOX = {
    "Support": (
        "Checked with the warehouse: the replacement leaves tomorrow morning.",
        "Called the carrier; the parcel is at the local depot, delivery booked for tomorrow.",
        "OK to waive the delivery charge on this one.",
        "Long-standing club customer - please be generous with the return window.",
        "Third problem with a {product} this month; reported to the product team.",
    ),
    "Sales": (
        "Asked design for a logo mock-up, due Thursday.",
        "Waiting for the supplier to confirm the restock date of the {product}.",
        "Offered the club price; they are comparing us with another supplier.",
        "Checked stock: 40 in the warehouse, more due next month.",
    ),
    "Billing": (
        "Refund approved and processed in the payment dashboard.",
        "New account, express delivery and a different billing address - holding order "
        "{order} until the payment clears.",
        "Opened a case with the payment provider about the pending hold.",
        "Accounts confirmed the bank transfer arrived on the 3rd.",
    ),
    "Unassigned": (
        "Forwarded to marketing (press@demo.example).",
        "Not really for us, but answered anyway.",
    ),
}

# Ticketbox settings: name -> fields and inbound addresses.
TICKETBOXES = {
    "Sales": {
        "description": "Quotes, club and wholesale orders, and product advice before purchase.",
        "addresses": ("sales@demo.example", "quotes@demo.example"),
        "from_name": "Trailhead Outfitters Sales",
        "from_address": "sales@demo.example",
        "header": "",
        "footer": "Trailhead Outfitters - Sales\nQuotes are valid for 30 days; prices include "
        "VAT unless stated.\nhttps://demo.example - +44 20 7946 0321",
        "age_alert_minutes": 240,
        "high_watermark": 40,
    },
    "Support": {
        "description": "Orders, deliveries, returns, product care and account questions.",
        "addresses": ("support@demo.example", "help@demo.example", "returns@demo.example"),
        "from_name": "Trailhead Outfitters Support",
        "from_address": "support@demo.example",
        "header": "Please keep the ticket number in the subject when you reply.",
        "footer": "Trailhead Outfitters - Customer Support\nMon-Fri 8:00-18:00 (UK time) - "
        "https://demo.example/help",
        "age_alert_minutes": 480,
        "low_watermark": 3,
        "high_watermark": 60,
    },
    "Billing": {
        "description": "Invoices, payments and refunds.",
        "addresses": ("billing@demo.example", "invoices@demo.example"),
        "from_name": "Trailhead Outfitters Billing",
        "from_address": "billing@demo.example",
        "header": "",
        "footer": "Trailhead Outfitters Ltd - Billing\nRegistered in England no. 01234567 - "
        "VAT GB 123 4567 89",
        "age_alert_minutes": 1440,
        "high_watermark": 25,
    },
}
# Where mail that no rule recognised was sent to, and what replies from Unassigned come from.
GENERAL_ADDRESS = "info@demo.example"
GENERAL_FROM_NAME = "Trailhead Outfitters"

# Standard responses: (category path, title, shortcut, body, active).
RESPONSE_CATEGORIES = (("Sales",), ("Support",), ("Support", "Shipping"), ("Billing",))
STANDARD_RESPONSES = (
    (
        ("Support",),
        "We received your message",
        "ack",
        "Hello {{ contact.name }},\n\nThank you for contacting {{ ticketbox.name }}. Your "
        "message is ticket #{{ ticket.number }}; we're busier than usual and will reply within "
        "two working days.\n\nTrailhead Outfitters",
        True,
    ),
    (
        ("Support", "Shipping"),
        "Where is my order",
        "tracking",
        "Hi {{ contact.name }},\n\nThanks for getting in touch. Your parcel is with the carrier "
        "and you can follow it with the tracking link in your dispatch email. If it hasn't "
        "arrived within two working days, reply to this email and we'll send a replacement."
        "\n\n{{ agent.name }}",
        True,
    ),
    (
        ("Support", "Shipping"),
        "Delivery delayed",
        "delay",
        "Hi {{ contact.name }},\n\nI'm sorry your delivery is late. The carrier is running "
        "behind in your area this week; your order should arrive within three working days."
        "\n\n{{ agent.name }}",
        True,
    ),
    (
        ("Support", "Shipping"),
        "Change of delivery address",
        "address",
        "Hi {{ contact.name }},\n\nI've updated the delivery address on your order. You'll get "
        "a new confirmation email shortly.\n\n{{ agent.name }}",
        True,
    ),
    (
        ("Support",),
        "Return label and instructions",
        "return",
        "Hi {{ contact.name }},\n\nYour prepaid return label is attached. Pack the item in its "
        "original packaging if you can and drop it at any post office. We refund or exchange "
        "within 5 working days of receiving it.\n\n{{ agent.name }}",
        True,
    ),
    (
        ("Support",),
        "Warranty claim: photos needed",
        "warranty",
        "Hi {{ contact.name }},\n\nSorry to hear about the problem. Could you reply with two or "
        "three photos of the fault and your order number? Then we can approve the repair or "
        "replacement straight away.\n\n{{ agent.name }}",
        True,
    ),
    (
        ("Support",),
        "Password reset",
        "password",
        "Hi {{ contact.name }},\n\nI've sent you a new password reset link; it is valid for one "
        "hour. If it doesn't arrive, please check your spam folder.\n\n{{ agent.name }}",
        True,
    ),
    (
        ("Sales",),
        "Quote request received",
        "quote",
        "Hi {{ contact.name }},\n\nThanks for your enquiry! We'll send you a written quote "
        "within one working day. Club, school and wholesale prices apply automatically.\n\n"
        "{{ agent.name }}",
        True,
    ),
    (
        ("Sales",),
        "Club and school discounts",
        "club-discount",
        "Hi {{ contact.name }},\n\nRegistered schools, scout groups and sports clubs get 15% off "
        "all orders and 20% on orders over £1,500. Reply with your organisation's details and "
        "we'll set up a club account.\n\n{{ agent.name }}",
        True,
    ),
    (
        ("Sales",),
        "Back in stock notification",
        "restock",
        "Hi {{ contact.name }},\n\nI've added you to the waiting list; you'll get an email the "
        "moment the item is back in stock.\n\n{{ agent.name }}",
        True,
    ),
    (
        ("Billing",),
        "Copy of your invoice",
        "invoice",
        "Hi {{ contact.name }},\n\nYou can download all your invoices from your account under "
        "Orders > Invoices. I've also attached a PDF copy of the one you asked for.\n\n"
        "{{ agent.name }}",
        True,
    ),
    (
        ("Billing",),
        "Refund processed",
        "refund",
        "Hi {{ contact.name }},\n\nYour refund has been processed today and goes back to your "
        "original payment method. Depending on your bank it takes 3-5 working days to show."
        "\n\n{{ agent.name }}",
        True,
    ),
    (
        ("Billing",),
        "Cheque payments (discontinued)",
        "cheque",
        "Hi {{ contact.name }},\n\nWe no longer accept payment by cheque. Please pay by card or "
        "bank transfer.\n\n{{ agent.name }}",
        False,
    ),
)
